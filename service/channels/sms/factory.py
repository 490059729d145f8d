"""Choosing the SMS transport from the settings (`KLARVARSEL_SMS_TRANSPORT`)."""

from __future__ import annotations

from service.channels.base import Transport
from service.channels.sms.outbox_transport import SmsOutboxTransport
from service.channels.sms.twilio_transport import TwilioSmsTransport
from service.config import Settings


def make_sms_transport(settings: Settings) -> Transport:
    """The configured SMS transport: `outbox` (default, no credentials) or `twilio`."""
    if settings.sms_transport == "twilio":
        return TwilioSmsTransport(settings)
    if settings.sms_transport == "outbox":
        return SmsOutboxTransport(settings.outbox_dir)
    raise ValueError(f"unknown SMS transport {settings.sms_transport!r}: use outbox or twilio")
