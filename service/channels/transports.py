"""The configured transport for each channel that is sent (SMS and e-mail)."""

from __future__ import annotations

from service.channels.base import Transport
from service.config import Settings
from service.notices.schemas import Channel


def make_transports(settings: Settings) -> dict[Channel, Transport]:
    """The transports `KLARVARSEL_SMS_TRANSPORT` and `KLARVARSEL_EMAIL_TRANSPORT` choose."""
    from service.channels.email.factory import make_email_transport
    from service.channels.sms.factory import make_sms_transport

    return {
        Channel.sms: make_sms_transport(settings),
        Channel.email: make_email_transport(settings),
    }


def make_outbox_transports(settings: Settings) -> dict[Channel, Transport]:
    """Outbox transports for each sent channel, whatever is configured (test keys' notices)."""
    from service.channels.email.outbox_transport import EmailOutboxTransport
    from service.channels.sms.outbox_transport import SmsOutboxTransport

    return {
        Channel.sms: SmsOutboxTransport(settings.outbox_dir),
        Channel.email: EmailOutboxTransport(settings.outbox_dir, sender=settings.smtp_from),
    }
