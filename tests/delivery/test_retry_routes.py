"""Retrying failed deliveries over the API and from the notice page, as `klarvarsel retry` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.accounts.roles import Role
from service.audit.models import AuditEvent
from service.delivery.models import Delivery
from service.main import app
from service.notices.models import NoticeRecord
from service.store.database import get_engine, session_scope
from tests.accounts.support import api_key, bearer, make_user, sign_in
from tests.delivery.test_worker import seed

GAVE_UP = "gave up at the deadline after 9 attempts; last error: Twilio did not answer within 10 s"
UNDELIVERED = "the provider reported the message undelivered (error code 30003)"
REFUSED = "Twilio refused the SMS to +4670***01 (HTTP 400, code 21211): invalid phone number"


@pytest.fixture
def failed_notice(var_dir: Path) -> str:
    """A sent notice: two deliveries failed for reasons that may pass, one for good."""
    engine = get_engine()
    notice_id = seed(engine, 3)
    with session_scope(engine) as session:
        session.execute(sa.update(NoticeRecord).values(status="sent"))
        for number, reason in enumerate((GAVE_UP, UNDELIVERED, REFUSED), start=1):
            session.execute(
                sa.update(Delivery)
                .where(Delivery.recipient_id == number)
                .values(status="failed", last_error=reason, attempts=1)
            )
        code = session.get_one(NoticeRecord, notice_id).code
    return code


def statuses() -> dict[str, str]:
    with session_scope() as session:
        rows = session.execute(sa.select(Delivery.last_error, Delivery.status)).all()
    return {"gave up" if e is None else e[:7]: s for e, s in rows}


def audited() -> list[tuple[str, str, dict[str, int]]]:
    with session_scope() as session:
        rows = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "deliveries.requeued")
            .order_by(AuditEvent.id)
        ).all()
        return [(e.actor, e.source, e.details) for e in rows]


def approver_page(code: str) -> str:
    """The notice page as an approver (who may send) sees it, in Swedish."""
    make_user(get_engine(), "approver@example.se", Role.approver)
    client = TestClient(app)
    sign_in(client, "approver@example.se")
    return client.get(f"/notices/{code}").text


def test_the_api_requeues_once_per_key_and_audits_the_caller(failed_notice: str) -> None:
    client = TestClient(app)
    key = api_key(get_engine(), "notices:send")
    path = f"/api/v1/notices/{failed_notice}/retry"
    first = client.post(path, headers={**bearer(key), "Idempotency-Key": "retry-1"})
    assert first.status_code == 200, first.text
    assert first.json() == {"code": failed_notice, "requeued": 2}
    with session_scope() as session:
        rows = session.scalars(sa.select(Delivery).order_by(Delivery.recipient_id)).all()
        assert [d.status for d in rows] == ["planned", "planned", "failed"]
        assert rows[0].give_up_at is not None and rows[2].last_error == REFUSED
    again = client.post(path, headers={**bearer(key), "Idempotency-Key": "retry-1"})
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post(path, headers={**bearer(key), "Idempotency-Key": "retry-2"})
    assert other.json() == {"code": failed_notice, "requeued": 0}  # already planned again
    assert audited() == [
        (f"key:{key[:16]}", "api testclient", {"requeued": 2}),
        (f"key:{key[:16]}", "api testclient", {"requeued": 0}),
    ]


def test_the_api_refuses_as_problems(failed_notice: str) -> None:
    client = TestClient(app)
    reader = bearer(api_key(get_engine(), "notices:read", "reports:read"))
    refused = client.post(f"/api/v1/notices/{failed_notice}/retry", headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "notices:send" in refused.json()["detail"]
    sender = bearer(api_key(get_engine(), "notices:send"))
    missing = client.post("/api/v1/notices/NOSUCH/retry", headers=sender)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    with session_scope() as session:
        session.execute(sa.update(NoticeRecord).values(status="approved"))
    early = client.post(f"/api/v1/notices/{failed_notice}/retry", headers=sender)
    assert early.status_code == 409 and "was not sent" in early.json()["detail"]
    assert audited() == []


def test_the_notice_page_has_a_retry_button_that_works_without_javascript(
    failed_notice: str,
) -> None:
    make_user(get_engine(), "approver@example.se", Role.approver)
    make_user(get_engine(), "viewer@example.se", Role.viewer)
    client = TestClient(app)
    viewer = TestClient(app)
    sign_in(viewer, "viewer@example.se")
    assert "/retry" not in viewer.get(f"/notices/{failed_notice}").text  # cannot send
    token = sign_in(client, "approver@example.se")
    page = client.get(f"/notices/{failed_notice}").text
    assert f'action="/notices/{failed_notice}/retry"' in page and "Försök igen" in page
    answers = [
        client.post(
            f"/notices/{failed_notice}/retry",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        for _ in range(2)  # a double click
    ]
    assert [a.status_code for a in answers] == [303, 303]
    assert [a.headers["location"] for a in answers] == [
        f"/notices/{failed_notice}?done=retried",
        f"/notices/{failed_notice}?done=nothing-to-retry",
    ]
    shown = client.get(answers[0].headers["location"]).text
    assert "De misslyckade meddelanden som kan gå fram nu skickas igen." in shown
    # The invalid number stays failed, so the button stays; pressing it says nothing is left.
    assert "Försök igen" in shown
    assert [(actor, details) for actor, _, details in audited()] == [
        ("approver@example.se", {"requeued": 2}),
        ("approver@example.se", {"requeued": 0}),
    ]


def test_a_notice_whose_sending_was_stopped_is_not_sent_again(failed_notice: str) -> None:
    """`klarvarsel stop-sending` cancels what was not sent; retrying must not undo that."""
    with session_scope() as session:
        # The third person's message was still waiting when sending was stopped.
        session.execute(
            sa.update(Delivery).where(Delivery.recipient_id == 3).values(status="cancelled")
        )
    client = TestClient(app)
    sender = bearer(api_key(get_engine(), "notices:send"))
    answer = client.post(
        f"/api/v1/notices/{failed_notice}/retry", headers={**sender, "Idempotency-Key": "stop-1"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"code": failed_notice, "requeued": 0}
    with session_scope() as session:
        assert not session.scalar(sa.select(sa.func.count()).where(Delivery.status == "planned"))
    page = approver_page(failed_notice)  # no button that would do nothing; the reason instead
    assert "/retry" not in page and "utskicket av det här meddelandet stoppades" in page


def test_an_alert_followed_by_a_sent_update_or_all_clear_is_not_sent_again(
    failed_notice: str,
) -> None:
    """Once the all-clear went out, a retried alert would tell people to boil water again."""
    with session_scope() as session:
        original = session.scalars(sa.select(NoticeRecord)).one()
        session.add(
            NoticeRecord(
                code="T99999",
                scenario=original.scenario,
                message_type="all_clear",
                mode=original.mode,
                status="sent",
                references_id=original.id,
                payload=original.payload,
                created_by="test",
            )
        )
    client = TestClient(app)
    sender = bearer(api_key(get_engine(), "notices:send"))
    answer = client.post(
        f"/api/v1/notices/{failed_notice}/retry", headers={**sender, "Idempotency-Key": "after-1"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"code": failed_notice, "requeued": 0}
    page = approver_page(failed_notice)
    assert "/retry" not in page and "ett nyare meddelande om det här har redan skickats" in page
