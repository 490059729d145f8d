"""Choosing the e-mail transport from the settings (`KLARVARSEL_EMAIL_TRANSPORT`)."""

from __future__ import annotations

from service.channels.base import Transport
from service.channels.email.outbox_transport import EmailOutboxTransport
from service.channels.email.smtp_transport import SmtpEmailTransport
from service.config import Settings


def make_email_transport(settings: Settings) -> Transport:
    """`smtp` sends through the configured server; `outbox` (the default) writes .eml files."""
    if settings.email_transport == "smtp":
        return SmtpEmailTransport.from_settings(settings)
    if settings.email_transport == "outbox":
        return EmailOutboxTransport(settings.outbox_dir, sender=settings.smtp_from)
    raise ValueError(f"unknown e-mail transport {settings.email_transport!r}: use outbox or smtp")
