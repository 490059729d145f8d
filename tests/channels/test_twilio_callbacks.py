"""Twilio status callbacks: signatures, status order, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from service.api.deps import session_dependency
from service.channels.base import OutgoingMessage, SendResult
from service.channels.inbox import ReceiptWriter
from service.channels.models import ReceiptInbox, SentMessage
from service.channels.sms.callback_views import (
    receipt_writer_dependency,
    router,
    settings_dependency,
)
from service.channels.sms.twilio_transport import STATUS_CALLBACK_PATH, TwilioSmsTransport
from service.channels.status import apply_status, record_sent
from service.config import Settings
from service.content import ContentLibrary, get_library
from service.delivery.receipts import ReceiptRound, apply_receipts
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.fakes import ServerThread
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)

PUBLIC = "https://kris.vasteras.se"  # behind a proxy: not the Host the app sees
CALLBACK_URL = PUBLIC + STATUS_CALLBACK_PATH
SID = "SM" + "0123456789abcdef" * 2
MESSAGE = OutgoingMessage(channel="sms", to="+46701234567", text="Ring 112.", reference="d-1")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def callback_app(engine: Engine, public_base_url: str = PUBLIC) -> FastAPI:
    app = FastAPI()
    app.include_router(router)

    def session_for_test() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    settings = Settings(twilio_auth_token=AUTH_TOKEN, public_base_url=public_base_url)
    writer = ReceiptWriter(engine)
    app.dependency_overrides[session_dependency] = session_for_test
    app.dependency_overrides[settings_dependency] = lambda: settings
    app.dependency_overrides[receipt_writer_dependency] = lambda: writer
    return app


def apply(engine: Engine, library: ContentLibrary | None = None) -> ReceiptRound:
    """What a worker does a few times a second: apply the receipts in the inbox."""
    with session_scope(engine) as session:
        return apply_receipts(session, library or get_library())


def inbox(engine: Engine) -> list[tuple[str, str, int]]:
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(ReceiptInbox).order_by(ReceiptInbox.id))
        return [(r.provider_id, r.status, r.tries) for r in rows]


def sent(engine: Engine, provider_id: str = SID, status: str = "queued") -> None:
    with session_scope(engine) as session:
        record_sent(session, MESSAGE, SendResult("twilio", provider_id, status))


def stored(engine: Engine, provider_id: str = SID) -> tuple[str, str | None]:
    with session_scope(engine) as session:
        row = session.scalars(
            sa.select(SentMessage).where(SentMessage.provider_id == provider_id)
        ).one()
        return row.status, row.error_code


def post(
    client: TestClient, fields: dict[str, str], *, token: str = AUTH_TOKEN, url: str = CALLBACK_URL
) -> httpx.Response:
    """Post `fields` signed as Twilio signs them (with `token`, for the URL `url`)."""
    signature = RequestValidator(token).compute_signature(url, fields)
    return client.post(STATUS_CALLBACK_PATH, data=fields, headers={"X-Twilio-Signature": signature})


def status_fields(status: str, sid: str = SID, error_code: str = "") -> dict[str, str]:
    fields = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "To": MESSAGE.to,
    }
    if error_code:
        fields["ErrorCode"] = error_code
    return fields


def test_the_route_is_where_the_transport_points_twilio() -> None:
    [route] = router.routes
    assert route.path == STATUS_CALLBACK_PATH  # type: ignore[attr-defined]
    assert route.operation_id == "twilio_status_callback"  # type: ignore[attr-defined]


def test_signed_callbacks_move_the_status_forward_and_never_back(engine: Engine) -> None:
    sent(engine)
    client = TestClient(callback_app(engine))
    assert post(client, status_fields("sent")).status_code == 204
    assert inbox(engine) == [(SID, "sent", 0)]  # stored; a worker applies it
    assert stored(engine) == ("queued", None)
    assert apply(engine).applied == 1
    assert stored(engine) == ("sent", None) and inbox(engine) == []
    assert post(client, status_fields("delivered")).status_code == 204
    late = post(client, status_fields("sent"))
    assert (late.status_code, late.content) == (204, b"")
    assert apply(engine).applied == 2  # in one batch, in order, never backwards
    assert stored(engine) == ("delivered", None)


def test_forged_or_unsigned_callbacks_are_refused_and_change_nothing(engine: Engine) -> None:
    sent(engine)
    client = TestClient(callback_app(engine))
    fields = status_fields("failed", error_code="30003")
    assert client.post(STATUS_CALLBACK_PATH, data=fields).status_code == 403
    assert post(client, fields, token="someone-elses-token").status_code == 403
    # Signed for the URL the app sees instead of the public one Twilio called.
    assert post(client, fields, url="http://testserver" + STATUS_CALLBACK_PATH).status_code == 403
    # A valid signature over other values.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        CALLBACK_URL, status_fields("delivered")
    )
    tampered = client.post(
        STATUS_CALLBACK_PATH, data=fields, headers={"X-Twilio-Signature": signature}
    )
    assert tampered.status_code == 403
    assert inbox(engine) == []
    assert stored(engine) == ("queued", None)


def test_a_callback_before_its_send_is_recorded_still_counts(
    engine: Engine, frozen_clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(callback_app(engine))
    assert post(client, status_fields("delivered")).status_code == 204
    # The worker's group commit has not recorded the send yet: the receipt waits.
    assert (apply(engine).applied, apply(engine).waiting) == (0, 1)
    assert inbox(engine) == [(SID, "delivered", 2)]
    sent(engine)
    assert apply(engine).applied == 1
    assert stored(engine) == ("delivered", None) and inbox(engine) == []
    # One that never matches is dropped after an hour, with a warning (no phone number).
    assert post(client, status_fields("delivered", sid="SM" + "f" * 32)).status_code == 204
    frozen_clock.advance(timedelta(hours=2))
    with caplog.at_level(logging.WARNING):
        assert apply(engine).dropped == 1
    assert "dropped 1 receipts" in caplog.text and MESSAGE.to not in caplog.text
    assert post(client, {"MessageSid": SID}).status_code == 422  # signed, but no status
    assert post(client, status_fields("x" * 17)).status_code == 422  # too long
    assert post(client, status_fields("receiving")).status_code == 204  # unknown: ignored
    assert inbox(engine) == []


def test_status_order_and_final_states(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    sent(engine, "SM1")
    sent(engine, "SM2")
    with session_scope(engine) as session:
        assert apply_status(session, "SM1", "sending") == "updated"
        assert apply_status(session, "SM1", "queued") == "stale"
        assert apply_status(session, "SM1", "undelivered", "30005") == "updated"
        assert apply_status(session, "SM1", "delivered") == "stale"
        assert apply_status(session, "SM1", "sent") == "stale"
        assert apply_status(session, "SM2", "delivered") == "updated"
        assert apply_status(session, "SM2", "failed", "30008") == "stale"
        assert apply_status(session, "SM2", "receiving") == "unknown_status"
    assert stored(engine, "SM1") == ("undelivered", "30005")
    assert stored(engine, "SM2") == ("delivered", None)
    with session_scope(engine) as session:
        row = session.scalars(sa.select(SentMessage).where(SentMessage.provider_id == "SM1")).one()
        assert (row.reference, row.channel, row.to_masked) == ("d-1", "sms", "+4670***67")
    engine.dispose()


def test_a_message_sent_through_twilio_gets_its_callbacks_end_to_end(
    engine: Engine, tmp_path: Path
) -> None:
    """The transport sends to the fake Twilio, which calls our app back over real HTTP."""
    with ServerThread(callback_app(engine, "http://placeholder")) as app_server:
        # The public URL is this very server: set it now that its port is known.
        public = Settings(twilio_auth_token=AUTH_TOKEN, public_base_url=app_server.url)
        app_server.app.dependency_overrides[settings_dependency] = lambda: public
        with FakeTwilio() as fake:
            settings = Settings(
                sms_transport="twilio",
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_from="Vasteras",
                twilio_base_url=fake.base_url,
                public_base_url=app_server.url,
                var_dir=tmp_path,
            )

            async def send() -> SendResult:
                async with TwilioSmsTransport(settings) as transport:
                    return await transport.send(MESSAGE)

            result = asyncio.run(send())
            with session_scope(engine) as session:
                record_sent(session, MESSAGE, result)
            callback_url = fake.requests[0].form["StatusCallback"]
            assert fake.send_status_callback(callback_url, result.provider_id, "sent").is_success
            delivered = fake.send_status_callback(callback_url, result.provider_id, "delivered")
            assert delivered.status_code == 204
            late = fake.send_status_callback(callback_url, result.provider_id, "sent")
            assert late.status_code == 204
            assert apply(engine).applied == 3
            forged = fake.send_status_callback(
                callback_url, result.provider_id, "failed", auth_token="forged"
            )
            assert forged.status_code == 403
    assert stored(engine, result.provider_id) == ("delivered", None)
