"""The credential-free SMS transport: every message becomes a JSON file under var/outbox/sms/.

This is what a new user sees before any provider is configured: the exact text Twilio would get
(normalised to GSM-7 where possible), its encoding and segment count. Files are written to a
temporary name and renamed, so a reader never sees half a message, and they are readable by their
owner only (mkstemp's 0600), since they hold phone numbers.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

from service.channels.base import (
    SMS,
    ChannelCapabilities,
    OutgoingMessage,
    SendResult,
    TransportError,
)
from service.channels.outbox_files import write_atomically
from service.channels.sms.encoding import analyse_sms
from service.clock import utcnow

# A reference goes into a file name: anything but these characters could leave the folder.
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class SmsOutboxTransport:
    """Writes each SMS as a JSON file instead of sending it (the embedded default)."""

    name = "outbox"
    capabilities: ChannelCapabilities = SMS

    def __init__(self, outbox_dir: Path) -> None:
        self.folder = outbox_dir / "sms"

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Write the message to the outbox folder; returns an `outbox-...` provider id."""
        if message.channel != "sms":
            raise TransportError(
                f"the SMS outbox takes SMS, not {message.channel!r}", permanent=True
            )
        analysis = analyse_sms(message.text)
        now = utcnow()
        provider_id = f"outbox-{uuid.uuid4().hex}"
        reference = _UNSAFE_IN_FILE_NAME.sub("_", message.reference)[:80] or "message"
        path = self.folder / f"{now:%Y%m%dT%H%M%S%fZ}-{reference}.json"
        record = {
            "provider_id": provider_id,
            "reference": message.reference,
            "to": message.to,
            "language": message.language,
            "text": analysis.text,
            "encoding": analysis.encoding,
            "segments": analysis.segments,
            "units": analysis.units,
            "written_at": now.isoformat(),
        }
        try:
            data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            await asyncio.to_thread(write_atomically, path, data)
        except OSError as exc:
            # A full disk or a missing permission does not fix itself by retrying at once, but
            # it is the machine's problem, not the message's: the caller may try again later.
            raise TransportError(
                f"could not write the SMS outbox file {path.name}: {exc.strerror}",
                permanent=False,
            ) from exc
        return SendResult(transport=self.name, provider_id=provider_id, status="sent")
