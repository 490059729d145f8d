"""Sending e-mail through an SMTP server (the municipality's relay) with aiosmtplib.

Which failures are permanent follows one rule: a refusal is permanent only when it is about
this message (its recipient or its content) and the server says so with a 5xx code. Everything
about the session (connecting, TLS, logging in, our sender address) is temporary: it is the
same for every message, an operator can fix it, and dropping a crisis notice for every
recipient because of a password typo would be worse than retrying it.
"""

from __future__ import annotations

import re
import ssl
from email.utils import parseaddr

import aiosmtplib

from service.channels.base import (
    EMAIL,
    ChannelCapabilities,
    OutgoingMessage,
    SendResult,
    TransportError,
    mask_address,
)
from service.channels.email.compose import build_email
from service.config import Settings

_EMAIL_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
SECURITY_MODES = ("none", "starttls", "ssl")


def mask_addresses(text: str) -> str:
    """Server replies often repeat the address ('550 <anna@x.se>: unknown'); mask every one."""
    return _EMAIL_ADDRESS.sub(lambda match: mask_address(match.group(0)), text)


def _permanent_if_5xx(code: int) -> bool:
    """RFC 5321: 5yz is a permanent failure, 4yz a transient one (greylisting, mailbox busy)."""
    return 500 <= code < 600


class SmtpEmailTransport:
    """A Transport that hands each e-mail to an SMTP server, one connection per message."""

    name = "smtp"
    capabilities: ChannelCapabilities = EMAIL

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout_seconds: float = 15.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}")
        envelope_sender = parseaddr(sender)[1]
        if "@" not in envelope_sender:
            raise ValueError(f"SMTP sender {sender!r} has no e-mail address")
        self.host, self.port, self.sender = host, port, sender
        self.envelope_sender = envelope_sender
        self.username, self.password = username, password
        self.security, self.timeout_seconds = security, timeout_seconds
        # None means the system's trusted CAs; tests (and relays with an internal CA) pass one.
        self.tls_context = tls_context

    @classmethod
    def from_settings(
        cls, settings: Settings, *, tls_context: ssl.SSLContext | None = None
    ) -> SmtpEmailTransport:
        """The transport configured by KLARVARSEL_SMTP_* settings."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout_seconds=settings.smtp_timeout_seconds,
            tls_context=tls_context,
        )

    def _client(self) -> aiosmtplib.SMTP:
        """A client for one session; the timeout bounds every connect, read and command."""
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            # Only log in when credentials are set: many internal relays allow by IP.
            username=self.username or None,
            password=self.password or None,
            timeout=self.timeout_seconds,
            use_tls=self.security == "ssl",
            # True, not None: never fall back to plain text when the server offers no STARTTLS.
            start_tls=self.security == "starttls",
            tls_context=self.tls_context,
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one e-mail; raises TransportError (permanent or temporary) on any failure."""
        try:
            # Inside the try: a recipient that cannot go in a header is this message's problem.
            email = build_email(message, sender=self.sender)
            provider_id = str(email["Message-ID"])
            async with self._client() as client:
                await client.send_message(
                    email, sender=self.envelope_sender, recipients=[message.to]
                )
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError, ValueError) as exc:
            # `from None`: the original exception's text may carry the unmasked address.
            raise _transport_error(exc, message.to) from None
        return SendResult(transport=self.name, provider_id=provider_id, status="accepted")


def _transport_error(exc: Exception, recipient: str) -> TransportError:
    """Map an aiosmtplib (or socket) error to a TransportError without personal data."""
    who = mask_address(recipient)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        exc = exc.recipients[0]  # we send to one recipient per message
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        reply = f"{exc.code} {mask_addresses(exc.message)}"
        return TransportError(
            f"SMTP server refused recipient {who}: {reply}",
            permanent=_permanent_if_5xx(exc.code),
        )
    if isinstance(exc, aiosmtplib.SMTPDataError):
        # The content was refused (too large, judged as spam); with 5xx a retry will not help.
        return TransportError(
            f"SMTP server refused the message to {who}: {exc.code} {mask_addresses(exc.message)}",
            permanent=_permanent_if_5xx(exc.code),
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Temporary on purpose: wrong credentials are the same for every message and get fixed
        # by an operator; marking each message failed for good would lose the whole notice.
        return TransportError(
            f"SMTP login failed ({exc.code}): check KLARVARSEL_SMTP_USERNAME and "
            "KLARVARSEL_SMTP_PASSWORD",
            permanent=False,
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return TransportError(f"SMTP server did not answer in time: {exc}", permanent=False)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # Greeting, EHLO, STARTTLS or our sender refused: about the session, not this message.
        return TransportError(
            f"SMTP server refused the session for {who}: {exc.code} {mask_addresses(exc.message)}",
            permanent=False,
        )
    if isinstance(exc, ValueError) and not isinstance(exc, ssl.SSLError):
        # build_email and aiosmtplib refuse an address that is not one plain address (it could
        # add recipients or SMTP commands). A certificate failure is a ValueError too.
        return TransportError(f"invalid e-mail address {who}", permanent=True)
    # Refused or dropped connections, TLS failures and missing extensions (STARTTLS).
    detail = mask_addresses(str(exc)) or type(exc).__name__
    return TransportError(f"SMTP connection failed: {detail}", permanent=False)
