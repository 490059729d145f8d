"""The SMS outbox (the credential-free default) and choosing a transport from the settings."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from pathlib import Path

import pytest

from service.channels.base import OutgoingMessage, SendResult, TransportError
from service.channels.sms.encoding import GSM7, UCS2
from service.channels.sms.factory import make_sms_transport
from service.channels.sms.outbox_transport import SmsOutboxTransport
from service.channels.sms.twilio_transport import TwilioSmsTransport
from service.config import Settings
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN

SWEDISH = "ÖVNING: Vattnet stängs av i Skultuna – fyll “flaskor” nu. Ring 112."
ARABIC = "تمرين: سيتم قطع المياه في سكولتونا. املأ الزجاجات الآن."


def send(transport: SmsOutboxTransport, message: OutgoingMessage) -> SendResult:
    return asyncio.run(transport.send(message))


def test_the_outbox_writes_a_readable_json_file_per_message(tmp_path: Path) -> None:
    outbox = SmsOutboxTransport(tmp_path / "outbox")
    message = OutgoingMessage(channel="sms", to="+46701234567", text=SWEDISH, reference="n-7/sv")
    result = send(outbox, message)

    [path] = (tmp_path / "outbox" / "sms").iterdir()
    assert re.fullmatch(r"\d{8}T\d{12}Z-n-7_sv\.json", path.name)
    record = json.loads(path.read_text("utf-8"))
    assert record == {
        "provider_id": result.provider_id,
        "reference": "n-7/sv",
        "to": "+46701234567",
        "language": "sv",
        "text": 'ÖVNING: Vattnet stängs av i Skultuna - fyll "flaskor" nu. Ring 112.',
        "encoding": GSM7,
        "segments": 1,
        "units": 67,
        "written_at": record["written_at"],
    }
    assert "ÖVNING" in path.read_text("utf-8")  # readable as it is, not \u-escaped
    assert re.fullmatch(r"outbox-[0-9a-f]{32}", result.provider_id)
    assert (result.transport, result.status) == ("outbox", "sent")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a phone number


def test_arabic_is_written_as_ucs2_and_every_message_gets_its_own_file(tmp_path: Path) -> None:
    outbox = SmsOutboxTransport(tmp_path)
    messages = [
        OutgoingMessage(
            channel="sms", to="+46701234567", text=ARABIC * 2, reference=f"r{i}", language="ar"
        )
        for i in range(5)
    ]

    async def run() -> list[SendResult]:
        return await asyncio.gather(*(outbox.send(m) for m in messages))

    results = asyncio.run(run())
    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 5 == len({r.provider_id for r in results})
    record = json.loads(files[0].read_text("utf-8"))
    assert (record["encoding"], record["segments"], record["language"]) == (UCS2, 2, "ar")
    assert record["text"] == ARABIC * 2
    assert not list((tmp_path / "sms").glob(".*"))  # no temporary files left behind


def test_the_outbox_refuses_other_channels_and_reports_a_full_disk_as_temporary(
    tmp_path: Path,
) -> None:
    outbox = SmsOutboxTransport(tmp_path)
    email = OutgoingMessage(channel="email", to="a@example.se", text="x", reference="r")
    with pytest.raises(TransportError) as refused:
        send(outbox, email)
    assert refused.value.permanent
    (tmp_path / "sms").write_text("a file where the folder should be")
    sms = OutgoingMessage(channel="sms", to="+46701234567", text="x", reference="r")
    with pytest.raises(TransportError) as unwritable:
        send(outbox, sms)
    assert not unwritable.value.permanent
    assert "+46701234567" not in str(unwritable.value)


def test_the_factory_picks_the_outbox_by_default_and_twilio_when_asked(tmp_path: Path) -> None:
    default = make_sms_transport(Settings(var_dir=tmp_path, sms_transport="outbox"))
    assert isinstance(default, SmsOutboxTransport)
    assert default.folder == tmp_path / "outbox" / "sms"
    twilio = make_sms_transport(
        Settings(
            var_dir=tmp_path,
            sms_transport="twilio",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_from="+46701234567",
        )
    )
    assert isinstance(twilio, TwilioSmsTransport)
    assert twilio.capabilities.channel == "sms"
