"""The Twilio transport against a local server that speaks Twilio's Messages API."""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.channels.base import OutgoingMessage, SendResult, TransportError
from service.channels.sms.encoding import GSM7, UCS2, analyse_sms
from service.channels.sms.sender import InvalidSender, parse_sender
from service.channels.sms.twilio_transport import (
    STATUS_CALLBACK_PATH,
    TwilioSmsTransport,
    TwilioTransportError,
)
from service.config import Settings
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

# twilio 9.13 still hands aiohttp a BasicAuth, which aiohttp 3.14 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)

PHONE = "+46701234567"
SERVICE_SID = "MG" + "abcdef0123456789" * 2


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTwilio]:
    with FakeTwilio() as running:
        yield running


@pytest.fixture
def fake(server: FakeTwilio) -> FakeTwilio:
    server.reset()
    return server


def settings_for(base_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sms_transport": "twilio",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": "Vasteras",
        "twilio_messaging_service_sid": "",
        "twilio_base_url": base_url,
        "twilio_timeout_seconds": 2.0,
        "public_base_url": "https://kris.vasteras.se",
        "var_dir": tmp_path,
    }
    values.update(overrides)
    return Settings(**values)


def sms(text: str = "Ring 112.", to: str = PHONE, reference: str = "ref-1") -> OutgoingMessage:
    return OutgoingMessage(channel="sms", to=to, text=text, reference=reference)


def send_all(settings: Settings, *messages: OutgoingMessage) -> list[SendResult | TransportError]:
    async def run() -> list[SendResult | TransportError]:
        results: list[SendResult | TransportError] = []
        async with TwilioSmsTransport(settings) as transport:
            for message in messages:
                try:
                    results.append(await transport.send(message))
                except TransportError as exc:
                    results.append(exc)
        return results

    return asyncio.run(run())


def send_one(settings: Settings, message: OutgoingMessage) -> SendResult:
    [result] = send_all(settings, message)
    assert isinstance(result, SendResult), result
    return result


def refusal(settings: Settings, message: OutgoingMessage | None = None) -> TwilioTransportError:
    [result] = send_all(settings, message or sms())
    assert isinstance(result, TwilioTransportError), result
    return result


def test_the_real_client_posts_twilios_messages_request_to_the_configured_server(
    fake: FakeTwilio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # These would turn the host into 127.0.0.dublin.ie1... without our guard.
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    result = send_one(settings_for(fake.base_url, tmp_path), sms())

    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["host"] == f"127.0.0.1:{fake.port}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    credentials = base64.b64decode(request.headers["authorization"].removeprefix("Basic "))
    assert credentials.decode() == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    assert request.form == {
        "To": PHONE,
        "From": "Vasteras",
        "Body": "Ring 112.",
        "StatusCallback": "https://kris.vasteras.se" + STATUS_CALLBACK_PATH,
    }
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.provider_id)
    assert result.provider_id in fake.messages
    assert (result.transport, result.status) == ("twilio", "queued")


def test_a_messaging_service_goes_as_messaging_service_sid(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    settings = settings_for(
        fake.base_url, tmp_path, twilio_from="", twilio_messaging_service_sid=SERVICE_SID
    )
    result = send_one(settings, sms())
    [request] = fake.requests
    assert request.form["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in request.form
    assert result.status == "accepted"

    both = settings_for(fake.base_url, tmp_path, twilio_messaging_service_sid=SERVICE_SID)
    send_one(both, sms())
    assert fake.requests[1].form["MessagingServiceSid"] == SERVICE_SID
    assert fake.requests[1].form["From"] == "Vasteras"


def test_swedish_goes_as_gsm7_normalised_text_and_arabic_as_it_is(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    swedish = "Vattnet är avstängt\u00a0– “koka” vattnet… Ring 112."
    arabic = "تم قطع المياه في سكولتونا. اغلِ الماء قبل الشرب – اتصل بـ 112."
    send_all(settings_for(fake.base_url, tmp_path), sms(swedish), sms(arabic))
    swedish_body, arabic_body = (r.form["Body"] for r in fake.requests)
    assert swedish_body == 'Vattnet är avstängt - "koka" vattnet... Ring 112.'
    assert analyse_sms(swedish_body, normalise=False).encoding == GSM7
    assert arabic_body == arabic.replace("–", "-")  # letters untouched, dash made GSM-like
    assert analyse_sms(arabic_body, normalise=False).encoding == UCS2


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 21211, True),  # invalid number
        (400, 21610, True),  # opted out (STOP)
        (400, 21614, True),  # not a mobile number
        (400, 21612, True),  # cannot route
        (400, 21408, True),  # region not enabled
        (400, 21602, True),  # any other 4xx: the request itself is wrong
        (404, 20404, True),
        (429, None, False),
        (500, None, False),
        (503, None, False),
        (401, 20003, False),  # our credentials, not the message: see is_permanent
    ],
)
def test_twilio_errors_map_to_permanent_or_temporary_with_the_number_masked(
    fake: FakeTwilio, tmp_path: Path, status: int, code: int | None, permanent: bool
) -> None:
    fake.fail_next(1, status=status, code=code)
    error = refusal(settings_for(fake.base_url, tmp_path))
    assert error.permanent is permanent
    assert error.status == status
    assert error.code == (code or {429: 20429, 500: 20500, 503: 20503}[status])
    assert PHONE not in str(error)
    assert "+4670***67" in str(error)


def test_a_wrong_auth_token_is_temporary_and_says_what_to_fix(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    error = refusal(settings_for(fake.base_url, tmp_path, twilio_auth_token="wrong"))
    assert (error.status, error.code, error.permanent) == (401, 20003, False)
    assert "twilio_auth_token" in str(error)


def test_the_fake_refuses_an_invalid_number_as_twilio_does(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    error = refusal(settings_for(fake.base_url, tmp_path), sms(to="0701234567"))
    assert (error.code, error.permanent) == (21211, True)
    assert "0701234567" not in str(error)


def test_a_slow_server_is_a_temporary_error_after_the_timeout(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    fake.delay_next(1, 5.0)
    started = time.monotonic()
    error = refusal(settings_for(fake.base_url, tmp_path, twilio_timeout_seconds=0.3))
    elapsed = time.monotonic() - started
    assert error.permanent is False
    assert "0.3 s" in str(error)
    assert PHONE not in str(error)
    assert elapsed < 2.0


def test_a_server_that_is_not_there_is_a_temporary_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = refusal(settings_for(f"http://127.0.0.1:{port}", tmp_path))
    assert error.permanent is False
    assert "could not reach Twilio" in str(error)


def test_concurrent_sends_with_a_share_of_outages(fake: FakeTwilio, tmp_path: Path) -> None:
    fake.fail_fraction(0.3, status=503)

    async def run() -> list[SendResult | BaseException]:
        async with TwilioSmsTransport(settings_for(fake.base_url, tmp_path)) as transport:
            sends = [transport.send(sms(reference=f"r{i}")) for i in range(40)]
            return await asyncio.gather(*sends, return_exceptions=True)

    results = asyncio.run(run())
    failures = [r for r in results if isinstance(r, TransportError)]
    successes = [r for r in results if isinstance(r, SendResult)]
    assert len(failures) + len(successes) == 40
    assert 4 <= len(failures) <= 20
    assert all(not f.permanent for f in failures)
    assert len({s.provider_id for s in successes}) == len(successes) == len(fake.messages)


def test_only_sms_is_sent(fake: FakeTwilio, tmp_path: Path) -> None:
    email = OutgoingMessage(channel="email", to="a@example.se", text="x", reference="r")
    [error] = send_all(settings_for(fake.base_url, tmp_path), email)
    assert isinstance(error, TransportError) and error.permanent
    assert fake.requests == []


@pytest.mark.parametrize(
    ("sender", "explanation"),
    [
        ("Västerås", "only A-Z, a-z, 0-9 and spaces (no å, ä, ö"),
        ("Vasteras Stad", "1 to 11 characters"),
        ("Kris-info!", "only A-Z, a-z, 0-9 and spaces"),
        ("46701234567", "at least one letter"),
        ("+46 70 123", "is not an E.164 number"),
        ("MG1234", "not 'MG' followed by 32 hexadecimal digits"),
    ],
)
def test_invalid_senders_are_refused_at_construction_with_a_clear_message(
    tmp_path: Path, sender: str, explanation: str
) -> None:
    with pytest.raises(InvalidSender, match=re.escape(explanation)):
        TwilioSmsTransport(settings_for("", tmp_path, twilio_from=sender))


def test_valid_senders_and_who_can_answer(tmp_path: Path) -> None:
    assert parse_sender("VK 112").kind == "alphanumeric"
    assert parse_sender("+46701234567").kind == "number"
    assert parse_sender(SERVICE_SID).kind == "messaging_service"
    named = TwilioSmsTransport(settings_for("", tmp_path))
    assert named.can_receive_replies is False
    numbered = TwilioSmsTransport(settings_for("", tmp_path, twilio_from="+46701234567"))
    assert numbered.can_receive_replies is True
    with pytest.raises(InvalidSender, match="no SMS sender configured"):
        TwilioSmsTransport(settings_for("", tmp_path, twilio_from=""))
    with pytest.raises(ValueError, match="ACCOUNT_SID"):
        TwilioSmsTransport(settings_for("", tmp_path, twilio_account_sid="AC123"))
    with pytest.raises(ValueError, match="AUTH_TOKEN"):
        TwilioSmsTransport(settings_for("", tmp_path, twilio_auth_token=""))
