"""What every channel transport shares: declared capabilities and the error type.

Limits live here as data (as Apprise declares them on each plugin) so checks and planners read
them instead of hard-coding numbers such as 160.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ChannelCapabilities:
    """What a channel can carry; checks and the planner read these instead of constants."""

    channel: str
    max_length: int | None = None
    encodings: tuple[str, ...] = ("UTF-8",)
    supports_html: bool = False
    supports_attachments: bool = False


@dataclass(frozen=True)
class SmsCapabilities(ChannelCapabilities):
    """SMS limits per 3GPP TS 23.038/23.040: septets or UCS-2 units per single or joined part."""

    channel: str = "sms"
    encodings: tuple[str, ...] = ("GSM-7", "UCS-2")
    gsm7_single: int = 160
    gsm7_part: int = 153
    ucs2_single: int = 70
    ucs2_part: int = 67
    # Providers refuse longer concatenations (Twilio: 10 parts recommended, 1600 chars hard).
    max_segments: int = 10


SMS = SmsCapabilities(max_length=1600)
EMAIL = ChannelCapabilities(channel="email", supports_html=True, supports_attachments=True)
PRINT = ChannelCapabilities(channel="print", supports_html=True)
WEB = ChannelCapabilities(channel="web", supports_html=True)

CAPABILITIES: dict[str, ChannelCapabilities] = {c.channel: c for c in (SMS, EMAIL, PRINT, WEB)}


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (the printable PDF with an e-mail)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient on one channel, ready for a transport."""

    channel: str  # sms or email
    to: str  # E.164 phone number or e-mail address
    text: str  # the SMS body, or the plain-text e-mail part
    reference: str  # our id for this message: idempotency, Message-ID, callbacks
    language: str = "sv"
    subject: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = field(default=())


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    transport: str
    provider_id: str
    status: str  # queued, accepted, sent (the provider's first word on it)


class Transport(Protocol):
    """Sends one channel's messages; raises TransportError, never returns on failure."""

    name: str
    capabilities: ChannelCapabilities

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand one message to the provider, within the transport's timeout."""
        ...


def mask_address(address: str) -> str:
    """A phone number or e-mail address as logs may show it: +4670***67, a***@example.se."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:5]}***{address[-2:]}" if len(address) > 7 else "***"


class TransportError(Exception):
    """A send failed; `permanent` says whether retrying could ever help.

    `throttled`: the provider answered "too many requests". It is up, so this is no evidence of
    an outage for its circuit; the message is retried after a backoff like any temporary error.
    """

    def __init__(self, message: str, *, permanent: bool, throttled: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.throttled = throttled
