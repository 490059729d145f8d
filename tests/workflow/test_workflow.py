"""The notice workflow on SQLite and PostgreSQL: drafts, four eyes, fingerprints, sending once."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from service.audit.models import AuditEvent
from service.cli import app as cli
from service.clock import FrozenClock, as_utc
from service.config import get_settings
from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.notices.models import NoticeRecord, NoticeState
from service.notices.service import NoticeInvalid
from service.store.database import get_engine, session_scope
from service.store.migrate import upgrade
from service.workflow.approval import approve
from service.workflow.drafts import create_draft, discard, follow_up, update_draft
from service.workflow.releaser import plan_sent, release_once
from service.workflow.schemas import Actor, ApprovalWithdrawn, NotAllowed, WrongState
from service.workflow.sending import send

AUTHOR = Actor("author@vasteras.se", "web")
APPROVER = Actor("approver@vasteras.se", "web")
TEST_KEY = Actor("key:kvt_abc", "api", is_test=True)


@pytest.fixture
def db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The configured database (SQLite or PostgreSQL), migrated, with the demo register."""
    monkeypatch.setenv("KLARVARSEL_DATABASE_URL", database_url)
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade(database_url)
    assert CliRunner().invoke(cli, ["demo-data"]).exit_code == 0
    yield database_url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _draft(raw: dict[str, Any], library: ContentLibrary, actor: Actor = AUTHOR) -> int:
    with session_scope() as session:
        return create_draft(session, raw, library, actor, complete=True).id


def _get(notice_id: int) -> NoticeRecord:
    with session_scope() as session:
        found = session.get(NoticeRecord, notice_id)
        assert found is not None
        session.expunge(found)
        return found


def _approve(notice_id: int, library: ContentLibrary, actor: Actor = APPROVER, **kw: Any) -> None:
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        approve(session, record, library, get_settings(), actor, **kw)


def _send(notice_id: int, library: ContentLibrary, actor: Actor = APPROVER, **kw: Any) -> str:
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        return send(session, record, library, get_settings(), actor, **kw).status


def _actions(notice_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.subject_id == str(notice_id))
                .order_by(AuditEvent.id)
            )
        )


def test_an_author_cannot_approve_their_own_alert(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    notice_id = _draft(water_notice, library)
    with pytest.raises(NotAllowed, match="four eyes"):
        _approve(notice_id, library, AUTHOR)
    with pytest.raises(WrongState, match="must be approved"):
        _send(notice_id, library, AUTHOR)
    _approve(notice_id, library)
    assert _get(notice_id).status == NoticeState.approved
    assert _send(notice_id, library) == NoticeState.sent
    assert _actions(notice_id) == ["notice.draft_created", "notice.approved", "notice.sent"]


def test_one_person_municipalities_may_approve_their_own_and_it_is_marked(
    db: str, library: ContentLibrary, water_notice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLARVARSEL_ALLOW_SELF_APPROVAL", "true")
    get_settings.cache_clear()
    notice_id = _draft(water_notice, library)
    _approve(notice_id, library, AUTHOR)
    assert _get(notice_id).self_approved


def test_an_edit_after_approval_withdraws_it(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    notice_id = _draft(water_notice, library)
    _approve(notice_id, library)
    edited = copy.deepcopy(water_notice)
    edited["note"] = {"sv": "Ta med två dunkar."}
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        update_draft(session, record, edited, library, AUTHOR, complete=True)
    stored = _get(notice_id)
    assert stored.status == NoticeState.draft and stored.approval_fingerprint is None
    with pytest.raises(WrongState):
        _send(notice_id, library)


def test_a_changed_register_after_approval_withdraws_it(
    db: str, library: ContentLibrary, water_notice: dict[str, Any], tmp_path: Path
) -> None:
    notice_id = _draft(water_notice, library)
    _approve(notice_id, library)
    people = tmp_path / "more.csv"
    people.write_text(
        "external_id;name;phone;languages;audiences;areas\n"
        "x-1;Nya Nilsson;070-174 06 40;sv;general-public;skultuna\n",
        "utf-8",
    )
    assert (
        CliRunner().invoke(cli, ["recipients", "import", str(people), "--confirm"]).exit_code == 0
    )
    with pytest.raises(ApprovalWithdrawn, match="approve it again"):
        _send(notice_id, library)
    assert _get(notice_id).status == NoticeState.draft
    assert "notice.approval_withdrawn" in _actions(notice_id)


def _import(tmp_path: Path, row: str) -> None:
    people = tmp_path / "people.csv"
    people.write_text("external_id;name;phone;languages;audiences;areas\n" + row + "\n", "utf-8")
    result = CliRunner().invoke(cli, ["recipients", "import", str(people), "--confirm"])
    assert result.exit_code == 0, result.output


def test_a_changed_phone_in_the_area_withdraws_and_a_change_elsewhere_does_not(
    db: str, library: ContentLibrary, water_notice: dict[str, Any], tmp_path: Path
) -> None:
    """Sending binds to the rows the notice reaches (one aggregate), not to the whole register."""
    _import(tmp_path, "x-2;Nora Nilsson;070-174 06 41;sv;general-public;skultuna")
    outside = _draft(water_notice, library)
    _approve(outside, library)
    _import(tmp_path, "x-3;Ola Olsson;070-174 06 42;sv;general-public;barkaro")  # not Skultuna
    assert _send(outside, library) == NoticeState.sent

    changed = copy.deepcopy(water_notice)
    changed["note"] = {"sv": "Ta med egna dunkar."}
    inside = _draft(changed, library)
    _approve(inside, library)
    _import(tmp_path, "x-2;Nora Nilsson;070-174 06 49;sv;general-public;skultuna")  # new phone
    with pytest.raises(ApprovalWithdrawn, match="approve it again"):
        _send(inside, library)
    assert "notice.approval_withdrawn" in _actions(inside)


def test_an_approval_fingerprinted_before_the_register_binding_still_sends(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    """Approvals from before 3 Dec 2026 (texts + messages per channel) survive the upgrade."""
    import hashlib
    import json

    from service.workflow.approval import review

    notice_id = _draft(water_notice, library)
    _approve(notice_id, library)
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None and record.approved_at is not None
        seen = review(session, record, library, get_settings(), as_utc(record.approved_at))
        legacy = hashlib.sha256()  # the recipe as it was
        for key in sorted(seen.report.variants, key=lambda k: (k.language, k.name)):
            v = seen.report.variants[key]
            for part in (key.language, key.name, v.subject, v.text, v.html or ""):
                legacy.update(part.encode("utf-8") + b"\x00")
        legacy.update(json.dumps(sorted(seen.plan.by_channel.items())).encode())
        assert legacy.hexdigest() != record.approval_fingerprint
        record.approval_fingerprint = legacy.hexdigest()
    assert _send(notice_id, library) == NoticeState.sent


def test_a_scheduled_alert_withdrawn_at_its_time_says_so_in_the_log(
    db: str,
    library: ContentLibrary,
    water_notice: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    frozen_clock: FrozenClock,
) -> None:
    later = frozen_clock.now() + timedelta(hours=1)
    notice_id = _draft(water_notice, library)
    _approve(notice_id, library)
    assert _send(notice_id, library, at=later) == NoticeState.scheduled
    _import(tmp_path, "x-4;Pia Persson;070-174 06 44;sv;general-public;skultuna")
    frozen_clock.set(later + timedelta(minutes=1))
    assert release_once(library, get_settings()) == ([], [])
    assert _get(notice_id).status == NoticeState.draft
    assert any(
        "was not sent" in r.getMessage() and _get(notice_id).code in r.getMessage()
        for r in caplog.records
    )


def test_a_notice_is_sent_once_however_often_send_is_pressed(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    notice_id = _draft(water_notice, library)
    _approve(notice_id, library)
    outcomes: list[str] = []

    def press() -> None:
        try:
            outcomes.append(_send(notice_id, library))
        except WrongState as exc:
            outcomes.append(exc.message)

    presses = [threading.Thread(target=press) for _ in range(4)]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join()
    assert outcomes.count(NoticeState.sent) == 1, outcomes
    assert _actions(notice_id).count("notice.sent") == 1
    plan_sent(library, get_settings())
    assert plan_sent(library, get_settings()) == []  # planned once
    with session_scope() as session:
        planned = session.scalar(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.notice_id == notice_id)
        )
    assert planned and planned > 0


def test_a_scheduled_notice_goes_out_at_its_time_and_can_be_called_off(
    db: str, library: ContentLibrary, water_notice: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    later = frozen_clock.now() + timedelta(minutes=30)
    first = _draft(water_notice, library)
    _approve(first, library)
    assert _send(first, library, at=later) == NoticeState.scheduled
    other = copy.deepcopy(water_notice)
    other["note"] = {"sv": "Ta med egna dunkar, gärna två."}
    second = _draft(other, library)
    _approve(second, library)
    _send(second, library, at=later)
    with session_scope() as session:
        record = session.get(NoticeRecord, second)
        assert record is not None
        discard(session, record, APPROVER)
    assert release_once(library, get_settings()) == ([], [])  # not due yet
    frozen_clock.set(later + timedelta(seconds=1))
    released, planned = release_once(library, get_settings())
    assert released == planned == [_get(first).code]
    assert _get(second).status == NoticeState.cancelled


def test_exercises_need_no_approval_but_never_become_actual(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    exercise = dict(water_notice, mode="exercise")
    notice_id = _draft(exercise, library)
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        with pytest.raises(NotAllowed, match="can never become an actual alert"):
            update_draft(session, record, water_notice, library, AUTHOR, complete=True)
    assert _send(notice_id, library, AUTHOR) == NoticeState.sent


def test_a_test_key_writes_and_sends_only_exercises(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    with session_scope() as session, pytest.raises(NotAllowed):
        create_draft(session, water_notice, library, TEST_KEY, complete=True)
    notice_id = _draft(dict(water_notice, mode="test"), library, TEST_KEY)
    assert _get(notice_id).outbox_only
    assert _send(notice_id, library, TEST_KEY) == NoticeState.sent


def test_an_incomplete_draft_is_kept_but_cannot_be_approved(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    broken = copy.deepcopy(water_notice)
    del broken["fields"]["area_name"]
    with session_scope() as session:
        with pytest.raises(NoticeInvalid):
            create_draft(session, broken, library, AUTHOR, complete=True)
        notice_id = create_draft(session, broken, library, AUTHOR, complete=False).id
    with pytest.raises(NoticeInvalid):
        _approve(notice_id, library)


def test_a_follow_up_references_the_first_notice_and_drafts_stay_private(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    from fastapi.testclient import TestClient

    from service.main import app

    notice_id = _draft(water_notice, library)
    draft_code = _get(notice_id).code
    client = TestClient(app)
    assert client.get(f"/n/{draft_code}").status_code == 404  # a draft has no public page
    _approve(notice_id, library)
    _send(notice_id, library)
    assert client.get(f"/n/{draft_code}").status_code == 200
    with session_scope() as session:
        sent = session.get(NoticeRecord, notice_id)
        assert sent is not None
        clear = follow_up(session, sent, "all_clear", AUTHOR)
        assert clear.payload["references"] == draft_code and clear.status == NoticeState.draft
        assert "sent_at" not in clear.payload


def test_the_releaser_plans_a_release_as_soon_as_it_commits(
    db: str, library: ContentLibrary, water_notice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click on send is planned at once, not at the releaser's next round."""
    import service.workflow.releaser as releaser

    monkeypatch.setattr(releaser, "INTERVAL_SECONDS", 60.0)  # only the wake-up can be in time
    stop = threading.Event()
    loop = threading.Thread(target=releaser.run_releaser, args=(get_settings(), stop))
    loop.start()
    try:
        notice_id = _draft(water_notice, library)
        _approve(notice_id, library)
        time.sleep(0.5)  # the releaser is waiting out its first (empty) round
        assert _send(notice_id, library) == NoticeState.sent
        deadline = time.monotonic() + 20
        while _get(notice_id).planned_at is None:
            assert time.monotonic() < deadline, "not planned: the releaser was not woken"
            time.sleep(0.05)
    finally:
        stop.set()
        releaser.RELEASED.set()  # end its wait
        loop.join(timeout=30)


def test_an_all_clear_starts_without_the_notes_instructions_and_an_update_keeps_them(
    db: str, library: ContentLibrary, water_notice: dict[str, Any]
) -> None:
    from service.workflow.drafts import follow_up

    noted = dict(water_notice, note={"sv": "Ta med egna dunkar eller flaskor."})
    notice_id = _draft(noted, library)
    _approve(notice_id, library)
    assert _send(notice_id, library) == NoticeState.sent
    with session_scope() as session:
        sent = session.get(NoticeRecord, notice_id)
        assert sent is not None
        kinds = {k: follow_up(session, sent, k, AUTHOR).payload for k in ("update", "all_clear")}
    assert kinds["update"]["note"] == {"sv": "Ta med egna dunkar eller flaskor."}
    assert "note" not in kinds["all_clear"] and kinds["all_clear"]["message_type"] == "all_clear"
