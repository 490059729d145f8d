"""The credential-free e-mail transport: every message becomes an .eml file under var/outbox/.

Any mail client opens the files, so a developer or a municipality trying Klarvarsel sees each
e-mail exactly as it would have been sent, HTML and PDF included.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path

from service.channels.base import (
    EMAIL,
    ChannelCapabilities,
    OutgoingMessage,
    SendResult,
    TransportError,
)
from service.channels.email.compose import build_email
from service.channels.outbox_files import write_atomically
from service.clock import utcnow

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def eml_file_name(reference: str, now: datetime) -> str:
    """'20261123T102400.123456Z-<reference>.eml': sorts by time, safe on every file system."""
    safe_reference = _UNSAFE_IN_FILE_NAME.sub("_", reference).strip("._") or "message"
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{safe_reference}.eml"


class EmailOutboxTransport:
    """A Transport that writes each e-mail to `<outbox_dir>/email/<time>-<reference>.eml`."""

    name = "outbox"
    capabilities: ChannelCapabilities = EMAIL

    def __init__(self, outbox_dir: Path, *, sender: str) -> None:
        self.directory = outbox_dir / "email"
        self.sender = sender

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Write the message as it would go over SMTP; the Message-ID is the provider id."""
        try:
            email = build_email(message, sender=self.sender)
        except ValueError as exc:
            raise TransportError(str(exc), permanent=True) from None
        path = self.directory / eml_file_name(message.reference, utcnow())
        try:
            # File I/O off the event loop, so a slow disk does not stall other sends.
            await asyncio.to_thread(write_atomically, path, email.as_bytes())
        except OSError as exc:
            # A full disk or a missing permission can be fixed; the message can then be retried.
            raise TransportError(
                f"could not write the e-mail outbox file {path.name}: {exc.strerror}",
                permanent=False,
            ) from None
        return SendResult(transport=self.name, provider_id=str(email["Message-ID"]), status="sent")
