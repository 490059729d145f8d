"""SMS through Twilio's Messages API with the official client, asynchronously.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with To, From or MessagingServiceSid, Body
and StatusCallback; Twilio then reports each message's progress to our callback route
(`service/channels/sms/callback_views.py`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from service.channels.base import (
    SMS,
    ChannelCapabilities,
    OutgoingMessage,
    SendResult,
    TransportError,
    mask_address,
)
from service.channels.sms.encoding import normalise_for_sms
from service.channels.sms.sender import SmsSender, senders_from_settings
from service.config import Settings
from service.notices.links import public_base_url

logger = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/api/v1/callbacks/twilio/status"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Anything in a provider's message that looks like a phone number is masked before it is shown.
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()-]{6,}[0-9]")

# Refusals about the recipient or the message: sending the same request again cannot succeed.
PERMANENT_CODES: dict[int, str] = {
    21211: "invalid phone number",
    21408: "no permission to send to this region",
    21610: "the recipient has opted out (STOP)",
    21612: "Twilio cannot route to this number",
    21614: "not a mobile number",
}
AUTHENTICATION_FAILED = 20003


class TwilioTransportError(TransportError):
    """A Twilio failure with the HTTP status and Twilio error code, for callers that care."""

    def __init__(
        self, message: str, *, permanent: bool, status: int | None = None, code: int | None = None
    ) -> None:
        super().__init__(message, permanent=permanent)
        self.status = status
        self.code = code


def is_permanent(status: int, code: int | None) -> bool:
    """Whether a Twilio error (HTTP status, error code) can never succeed when retried."""
    if status == 401 or code == AUTHENTICATION_FAILED:
        # Temporary on purpose: a wrong or rotated auth token is about our account, not the
        # message. Marking it permanent would silently drop every recipient of an alert because
        # of one configuration mistake; retrying (with the caller's backoff and attempt limit)
        # lets delivery resume as soon as an operator fixes the token, and the error text says
        # what to fix.
        return False
    if status == 429 or status >= 500:
        return False
    if code in PERMANENT_CODES:
        return True
    return 400 <= status < 500


def mask_phone_numbers(text: str, to: str) -> str:
    """`text` with the recipient's number, and anything that looks like a number, masked."""
    if to:
        text = text.replace(to, mask_address(to))
    return _PHONE_LIKE.sub(lambda m: mask_address(m.group(0)), text)


def _refusal(exc: TwilioRestException | TwilioServiceException, to: str) -> TwilioTransportError:
    status = int(exc.status or 0)
    code = int(exc.code) if exc.code is not None else None
    if isinstance(exc, TwilioServiceException):
        said = f"{exc.title}: {exc.detail or ''}"
    else:
        said = str(exc.msg)
    if status == 401 or code == AUTHENTICATION_FAILED:
        reason = "authentication failed: check twilio_account_sid and twilio_auth_token"
    else:
        reason = PERMANENT_CODES.get(code or 0, "")
    text = f"Twilio refused the SMS to {mask_address(to)} (HTTP {status}, code {code})"
    if reason:
        text += f": {reason}"
    text += f"; Twilio said: {mask_phone_numbers(said, to)}"
    return TwilioTransportError(
        text, permanent=is_permanent(status, code), status=status, code=code
    )


class TwilioSmsTransport:
    """Hands SMS to Twilio; raises TransportError (permanent or temporary) on any failure.

    The sender is an alphanumeric sender ID, an E.164 number or a Messaging Service (see
    `service.channels.sms.sender`). Alphanumeric sender IDs cannot receive replies: recipients
    see the name but cannot answer, so use a number when answers must reach the municipality.

    The client is made on first use inside the running event loop (aiohttp sessions belong to
    one loop); call `aclose()` when done.
    """

    name = "twilio"
    capabilities: ChannelCapabilities = SMS

    def __init__(self, settings: Settings) -> None:
        if not _ACCOUNT_SID.fullmatch(settings.twilio_account_sid):
            raise ValueError(
                "KLARVARSEL_TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hexadecimal digits"
            )
        if not settings.twilio_auth_token:
            raise ValueError("KLARVARSEL_TWILIO_AUTH_TOKEN is empty")
        if settings.twilio_timeout_seconds <= 0:
            raise ValueError("KLARVARSEL_TWILIO_TIMEOUT_SECONDS must be more than 0")
        self.senders: tuple[SmsSender, ...] = senders_from_settings(
            settings.twilio_from, settings.twilio_messaging_service_sid
        )
        self.status_callback = public_base_url(settings) + STATUS_CALLBACK_PATH
        self._account_sid = settings.twilio_account_sid
        self._auth_token = settings.twilio_auth_token
        self._base_url = settings.twilio_base_url.rstrip("/")
        self._timeout = settings.twilio_timeout_seconds
        self._client: Any = None
        self._http: AsyncTwilioHttpClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sender_arguments: dict[str, str] = {}
        for sender in self.senders:
            self._sender_arguments.update(sender.twilio_arguments())

    @property
    def can_receive_replies(self) -> bool:
        """Whether recipients can answer (not with an alphanumeric sender ID alone)."""
        return any(sender.can_receive_replies for sender in self.senders)

    def _client_for_running_loop(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # AsyncTwilioHttpClient (twilio 9.x) keeps this timeout but does not pass it on to
            # aiohttp, which then waits forever: `send` enforces the limit with asyncio.timeout.
            self._http = AsyncTwilioHttpClient(timeout=self._timeout)
            client = Client(self._account_sid, self._auth_token, http_client=self._http)
            if self._base_url:
                client.api.base_url = self._base_url
                # TWILIO_EDGE/TWILIO_REGION would rewrite the configured host into
                # api.<edge>.<region>.twilio.com; a configured base URL is meant literally.
                client.edge = None
                client.region = None
            self._client, self._loop = client, loop
        return self._client

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand one SMS to Twilio within the configured timeout."""
        if message.channel != "sms":
            raise TransportError(
                f"the Twilio transport sends SMS, not {message.channel!r}", permanent=True
            )
        masked = mask_address(message.to)
        client = self._client_for_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                created = await client.messages.create_async(
                    to=message.to,
                    body=normalise_for_sms(message.text),
                    status_callback=self.status_callback,
                    **self._sender_arguments,
                )
        except (TwilioRestException, TwilioServiceException) as exc:
            # `from None`: Twilio's own message carries the full phone number.
            raise _refusal(exc, message.to) from None
        except TimeoutError:
            raise TwilioTransportError(
                f"Twilio did not answer within {self._timeout:g} s (SMS to {masked})",
                permanent=False,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TwilioTransportError(
                f"could not reach Twilio (SMS to {masked}): {type(exc).__name__}: {exc}",
                permanent=False,
            ) from exc
        provider_id = str(created.sid)
        logger.info("Twilio accepted SMS %s to %s as %s", message.reference, masked, provider_id)
        return SendResult(
            transport=self.name, provider_id=provider_id, status=str(created.status or "queued")
        )

    async def aclose(self) -> None:
        """Close the HTTP connections (in the event loop that opened them)."""
        if self._http is not None:
            await self._http.close()
        self._client = self._http = self._loop = None

    async def __aenter__(self) -> TwilioSmsTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
