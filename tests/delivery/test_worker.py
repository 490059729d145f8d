"""The dispatch worker against the local Twilio server, on SQLite and PostgreSQL.

The helpers at the top (seeding notices, recipients and deliveries; settings for the fake) are
shared by test_crash_recovery.py and test_two_workers.py.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.base import OutgoingMessage, SendResult
from service.channels.models import SentMessage
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.cancel import cancel_deliveries
from service.delivery.dispatch import Outcome, RetryPolicy, record_outcomes
from service.delivery.fallback import NOT_REACHED
from service.delivery.leases import claim
from service.delivery.messages import Job, MessageBuilder
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery
from service.delivery.receipts import apply_receipt
from service.delivery.requeue import requeue_failed
from service.delivery.tracking import progress, report_csv
from service.delivery.worker import run_worker
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.conftest import ROOT, load_json
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Fault

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)

FAST = RetryPolicy(base_seconds=0.005, cap_seconds=0.05)
NOTICE = ROOT / "message_templates" / "water_outage" / "example.json"


def phone(i: int) -> str:
    return f"+4670{i:07d}"


def seed(
    engine: Engine,
    count: int,
    *,
    audience: str = "general-public",
    email: bool = True,
    deliveries: bool = True,
    start: int = 1,
) -> int:
    """A notice, `count` recipients and one planned SMS delivery each; the notice id."""
    with session_scope(engine) as session:
        notice = NoticeRecord(
            code=f"T{start:05d}",
            scenario="water_outage",
            message_type="alert",
            mode="actual",
            status="published",
            payload=load_json(NOTICE),
            created_by="test",
        )
        session.add(notice)
        session.flush()
        ids = range(start, start + count)
        session.execute(
            sa.insert(RecipientRecord),
            [
                {
                    "id": i,
                    "name": f"Person {i}",
                    "phone": phone(i),
                    "email": f"p{i}@example.se" if email else None,
                    "languages": ["sv"],
                    "audiences": [audience],
                    "areas": ["skultuna"],
                    "groups": [],
                }
                for i in ids
            ],
        )
        if deliveries:
            add_deliveries(session, notice.id, ids, audience)
        return notice.id


def add_deliveries(session: Any, notice_id: int, ids: range, audience: str) -> None:
    session.execute(
        sa.insert(Delivery),
        [
            {
                "notice_id": notice_id,
                "recipient_id": i,
                "recipient_key": f"key-{i}",
                "channel": "sms",
                "address": phone(i),
                "language": "sv",
                "register": "standard",
                "role": "staff" if audience == "care-staff" else "public",
                "audience": audience,
                "status": "planned",
                "attempts": 0,
            }
            for i in ids
        ],
    )


def fake_settings(fake: FakeTwilio, tmp_path: Path, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "var_dir": tmp_path / "var",
        "sms_transport": "twilio",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": "Vasteras",
        "twilio_base_url": fake.base_url,
        "twilio_timeout_seconds": 2.0,
        "sms_rate_per_second": 100_000,
        "worker_batch_size": 100,
        "worker_concurrency": 20,
    }
    values.update(overrides)
    return Settings(**values)


def statuses(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        )
        return Counter(dict(rows.all()))


def messages_per_number(fake: FakeTwilio) -> Counter[str]:
    return Counter(m["to"] for m in list(fake.messages.values()))


def drain(settings: Settings, engine: Engine) -> None:
    run_worker(settings, stop_event=threading.Event(), once=True, engine=engine, retry=FAST)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def test_every_delivery_is_sent_through_temporary_failures_and_timeouts(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    seed(engine, 2000)
    # 30% temporary failures (429, 500, 503 a tenth each) and about 1% that time out. The
    # timeout leaves the fake, which shares this process's CPU with the worker, 2 s for an
    # ordinary answer: at a load average of 30 it took over 1 s for hundreds of requests it had
    # already accepted, and each such late answer is a real second send.
    fake.faults.append(Fault(delay=3.0, fraction=0.01))
    fake.fail_fraction(0.1, status=429)
    fake.fail_fraction(0.1 / 0.9, status=500)
    fake.fail_fraction(0.1 / 0.8, status=503)
    settings = fake_settings(
        fake,
        tmp_path,
        database_url,
        twilio_timeout_seconds=2.0,
        worker_concurrency=50,
    )
    drain(settings, engine)

    assert statuses(engine) == {"sent": 2000}
    per_number = messages_per_number(fake)
    assert len(per_number) == 2000
    # At least once: a request that timed out may still have been accepted, and is then sent
    # again. Under load this once reached 43: the worker's event loop, starved of CPU, saw its
    # own timer before the answer that had already arrived and threw the answer away. The
    # transport now reads an answer that has begun before it times out (http_pool), so only a
    # server that accepts and answers later than the timeout can cause a second send.
    assert sum(per_number.values()) - 2000 <= 20
    refused = len(fake.requests) - len(fake.messages)
    assert refused > 0.3 * 2000  # the faults really happened, and were retried
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SentMessage)) == 2000
        # Every send counts as an attempt, the one that succeeded included.
        assert session.scalar(sa.select(sa.func.min(Delivery.attempts))) == 1
        retried = session.scalar(sa.select(sa.func.count()).where(Delivery.attempts > 1))
        assert retried is not None and retried > 300
        body = next(iter(fake.messages.values()))["body"]
        assert "/n/T00001" in body  # the public page's link is in the SMS


def test_a_permanent_error_fails_with_its_reason_and_falls_back_to_email(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    notice_id = seed(engine, 1)  # general-public: sms, then e-mail
    seed(engine, 1, audience="care-staff", email=False, start=2)  # no e-mail: print list
    seed(engine, 1, audience="relatives", email=False, start=3)  # no e-mail, no print
    fake.fail_next(3, status=400, code=21211)
    settings = fake_settings(fake, tmp_path, database_url, worker_concurrency=1)
    drain(settings, engine)

    with session_scope(engine) as session:
        rows = {(d.recipient_id, d.channel): d for d in session.scalars(sa.select(Delivery))}
    sms = rows[1, "sms"]
    assert sms.status == "failed" and sms.attempts == 1
    assert sms.last_error is not None and "21211" in sms.last_error
    assert "invalid phone number" in sms.last_error and phone(1) not in sms.last_error
    email = rows[1, "email"]
    assert (email.fallback_of_id, email.status, email.address) == (
        sms.id,
        "sent",
        "p1@example.se",
    )
    assert email.notice_id == notice_id and email.recipient_key == sms.recipient_key
    [eml] = (tmp_path / "var" / "outbox" / "email").glob(f"*-d{email.id}.eml")
    assert "Skultuna" in eml.read_text("utf-8")
    staff = rows[2, "sms"].last_error or ""
    assert f"{NOT_REACHED}: hand them a printed notice" in staff and "care-staff" in staff
    assert (rows[3, "sms"].last_error or "").endswith(f"{NOT_REACHED}: call them")
    assert len(rows) == 4


def test_cancel_stops_what_was_not_sent(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    first = seed(engine, 50)
    with session_scope(engine) as session:
        assert cancel_deliveries(session, first) == 50
    second = seed(engine, 300, start=100)
    fake.faults.append(Fault(delay=0.05))  # 4 at a time: about 80 messages a second
    settings = fake_settings(fake, tmp_path, database_url, worker_concurrency=4)
    worker = threading.Thread(target=drain, args=(settings, engine))
    worker.start()
    deadline = time.monotonic() + 20
    while len(fake.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.005)
    with session_scope(engine) as session:
        cancelled = cancel_deliveries(session, second)
    at_cancel = len(fake.messages)
    worker.join(timeout=30)
    assert not worker.is_alive()

    after = len(fake.messages) - at_cancel
    # In flight (4) plus what left before the worker's next check (0.2 s at ~80/s).
    assert after <= 4 + 25, after
    counts = statuses(engine)
    assert counts["sent"] == len(fake.messages)  # every message that left is recorded as sent
    assert counts["cancelled"] == 350 - counts["sent"]
    assert cancelled >= 300 - at_cancel - 4
    assert all(m["to"] >= phone(100) for m in fake.messages.values())  # nothing of the first


def test_a_provider_callback_marks_the_delivery_delivered_or_failed(
    engine: Engine,
    fake: FakeTwilio,
    tmp_path: Path,
    database_url: str,
    library: ContentLibrary,
) -> None:
    seed(engine, 2)
    drain(fake_settings(fake, tmp_path, database_url), engine)
    with session_scope(engine) as session:
        one, two = session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
        assert one.provider_id and two.provider_id
        assert apply_receipt(session, one.provider_id, "sent", None, library) == "updated"
        assert apply_receipt(session, one.provider_id, "delivered", None, library) == "updated"
        assert apply_receipt(session, two.provider_id, "undelivered", "30003", library) == "updated"
    with session_scope(engine) as session:
        rows = {d.id: d for d in session.scalars(sa.select(Delivery))}
    assert rows[one.id].status == "delivered"
    assert rows[two.id].status == "failed"
    assert "undelivered (error code 30003)" in (rows[two.id].last_error or "")
    [fallback] = [d for d in rows.values() if d.fallback_of_id == two.id]
    assert (fallback.channel, fallback.status) == ("email", "planned")


def expire_leases(engine: Engine, ids: list[int]) -> None:
    """Let these claims' leases run out (long ago, by the database's clock and the service's)."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(lease_expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )


def test_a_lease_that_expired_is_claimed_again(engine: Engine) -> None:
    seed(engine, 10)
    with session_scope(engine) as session:
        mine = claim(session, "crashed", 6, lease_seconds=30)
    assert [d.status for d in mine] == ["sending"] * 6
    with session_scope(engine) as session:
        others = claim(session, "other", 10, lease_seconds=30)
    assert {d.id for d in others}.isdisjoint(d.id for d in mine) and len(others) == 4
    # Set, not slept for: a 50 ms lease ran out before the second claim on a loaded machine.
    expire_leases(engine, [d.id for d in mine])
    with session_scope(engine) as session:
        # A worker never claims again what it still holds (its lease ran out mid-send).
        assert claim(session, "crashed", 10, 30, exclude=[d.id for d in mine]) == []
    with session_scope(engine) as session:
        taken = claim(session, "other", 10, lease_seconds=30)
    assert sorted(d.id for d in taken) == sorted(d.id for d in mine)
    assert {d.lease_owner for d in taken} == {"other"}
    # The dead worker may have sent them: each is counted as a possible duplicate.
    assert {d.last_error for d in taken} == {POSSIBLE_DUPLICATE}
    assert {d.last_error for d in others} == {None}


def taken_over(engine: Engine) -> tuple[Job, Job]:
    """One delivery claimed by "slow", whose lease runs out, then by "other": both jobs."""
    seed(engine, 1)
    with session_scope(engine) as session:
        [first] = claim(session, "slow", 1, lease_seconds=30)
    expire_leases(engine, [first.id])
    with session_scope(engine) as session:
        [second] = claim(session, "other", 1, lease_seconds=30)
    assert second.last_error == POSSIBLE_DUPLICATE
    message = OutgoingMessage("sms", phone(1), "text", f"d{first.id}")
    return (
        Job(first.id, "sms", 0, message),
        Job(second.id, "sms", 0, message, taken_over=True),
    )


def record(engine: Engine, worker_id: str, library: ContentLibrary, *outcomes: Outcome) -> None:
    with session_scope(engine) as session:
        record_outcomes(
            session,
            worker_id,
            outcomes,
            builder=MessageBuilder(Settings(), library),
            retry=FAST,
        )


def test_the_possible_duplicate_marking_survives_a_slow_worker_recording_its_send(
    engine: Engine, library: ContentLibrary
) -> None:
    slow, other = taken_over(engine)
    # The slow worker's message was already with the provider; it records it first.
    record(engine, "slow", library, Outcome(slow, SendResult("twilio", "SM-slow", "queued")))
    record(engine, "other", library, Outcome(other, SendResult("twilio", "SM-other", "queued")))
    with session_scope(engine) as session:
        delivery = session.get(Delivery, slow.id)
        assert delivery is not None
        assert (delivery.status, delivery.provider_id, delivery.attempts) == ("sent", "SM-slow", 1)
        assert delivery.last_error == POSSIBLE_DUPLICATE
        # Both sends were recorded: two SentMessage rows with the same reference.
        references = session.scalars(sa.select(SentMessage.reference)).all()
        assert references == [f"d{slow.id}", f"d{slow.id}"]
        assert progress(session, delivery.notice_id).possible_duplicates == 1
        # A failure reported later by the provider keeps the marking too.
        assert apply_receipt(session, "SM-slow", "undelivered", "30003", library) == "updated"
    with session_scope(engine) as session:
        delivery = session.get(Delivery, slow.id)
        assert delivery is not None and delivery.status == "failed"
        assert (delivery.last_error or "").startswith(f"{POSSIBLE_DUPLICATE}; the provider")
        assert progress(session, delivery.notice_id).possible_duplicates == 1


def test_a_delivery_taken_over_that_fails_stays_marked_as_a_possible_duplicate(
    engine: Engine, library: ContentLibrary
) -> None:
    _slow, other = taken_over(engine)
    record(engine, "other", library, Outcome(other, error="21211: invalid", permanent=True))
    with session_scope(engine) as session:
        delivery = session.get(Delivery, other.id)
        assert delivery is not None and delivery.status == "failed"
        assert (delivery.last_error or "").startswith(f"{POSSIBLE_DUPLICATE}; 21211: invalid")
        assert progress(session, delivery.notice_id).possible_duplicates == 1


def test_temporary_errors_give_up_at_the_deadline_and_retry_sends_them_again(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    notice_id = seed(engine, 1, email=False, audience="relatives")
    fake.fail_fraction(1.0, status=503)
    settings = fake_settings(
        fake, tmp_path, database_url, delivery_deadline_minutes=0.04, circuit_open_seconds=0.1
    )
    drain(settings, engine)
    with session_scope(engine) as session:
        [delivery] = session.scalars(sa.select(Delivery)).all()
    assert delivery.status == "failed" and delivery.attempts == len(fake.requests) > 1
    assert (delivery.last_error or "").startswith(
        f"gave up at the deadline after {delivery.attempts} attempts; last error: "
    )
    assert (delivery.last_error or "").endswith(f"{NOT_REACHED}: call them")
    fake.reset()
    with session_scope(engine) as session:
        notice = session.get(NoticeRecord, notice_id)
        assert notice is not None and requeue_failed(session, notice, settings) == 1
        assert requeue_failed(session, notice, settings) == 0  # planned now: once
    drain(settings, engine)
    assert statuses(engine) == {"sent": 1} and len(fake.messages) == 1


def test_attempts_count_every_try_including_the_one_that_succeeded(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    retried = seed(engine, 1)
    fake.fail_next(2, status=503)
    settings = fake_settings(fake, tmp_path, database_url)
    drain(settings, engine)
    first_time = seed(engine, 1, start=2)
    drain(settings, engine)
    assert len(fake.requests) == 4
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
        assert [(d.status, d.attempts, d.last_error) for d in rows] == [
            ("sent", 3, None),
            ("sent", 1, None),
        ]
        reports = [report_csv(session, n).decode("utf-8-sig") for n in (retried, first_time)]
    attempts = [
        row["attempts"]
        for report in reports
        for row in csv.DictReader(io.StringIO(report), delimiter=";")
    ]
    assert attempts == ["3", "1"]


def test_rate_limit_per_transport(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    seed(engine, 60)
    settings = fake_settings(fake, tmp_path, database_url, sms_rate_per_second=100)
    started = time.monotonic()
    drain(settings, engine)
    # A burst of a tenth of a second (10), then 100 a second: at least 0.5 s for 60.
    assert time.monotonic() - started >= 0.45
    assert statuses(engine) == {"sent": 60}
