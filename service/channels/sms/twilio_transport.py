"""SMS through Twilio's Messages API: pre-encoded requests on kept-alive connections.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with To, From or MessagingServiceSid, Body
and StatusCallback; Twilio then reports each message's progress to our callback route
(`service/channels/sms/callback_views.py`).

The REST call is made directly (service.channels.http_pool) rather than through the twilio SDK:
its layers (request objects, aiohttp sessions, response models) cost more CPU than the rest of
sending a message, and an alert is thousands of nearly identical requests. Everything constant
(the path, the credentials, the sender and callback fields) is encoded once; each message's
body is normalised and encoded once per text. The SDK stays for what it does best: checking
callback signatures (RequestValidator).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from urllib.parse import quote_plus, urlencode

from service.channels.base import (
    SMS,
    ChannelCapabilities,
    OutgoingMessage,
    SendResult,
    TransportError,
    mask_address,
)
from service.channels.http_pool import HttpError, HttpPool, HttpTimeout
from service.channels.sms.encoding import normalise_for_sms
from service.channels.sms.sender import SmsSender, senders_from_settings
from service.config import Settings
from service.notices.links import public_base_url

logger = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/api/v1/callbacks/twilio/status"
TWILIO_API = "https://api.twilio.com"
_FORM_NAMES = {"from_": "From", "messaging_service_sid": "MessagingServiceSid"}

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
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
TOO_MANY_REQUESTS = 20429  # the account is over its allowance of concurrent requests


class TwilioTransportError(TransportError):
    """A Twilio failure with the HTTP status and Twilio error code, for callers that care."""

    def __init__(
        self, message: str, *, permanent: bool, status: int | None = None, code: int | None = None
    ) -> None:
        throttled = status == 429 or code == TOO_MANY_REQUESTS  # over the account's allowance
        super().__init__(message, permanent=permanent, throttled=throttled)
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


def _refusal(status: int, answer: bytes, to: str) -> TwilioTransportError:
    """The error for a refused request, from Twilio's JSON answer (numbers masked)."""
    try:
        data = json.loads(answer)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    raw_code = data.get("code")
    code = int(raw_code) if isinstance(raw_code, int | str) and str(raw_code).isdigit() else None
    said = str(data.get("message") or answer[:200].decode("utf-8", errors="replace"))
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

    The connection pool is made on first use inside the running event loop (connections belong
    to one loop); call `aclose()` when done.
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
        # A configured base URL is meant literally (TWILIO_EDGE/TWILIO_REGION play no part).
        self._base_url = settings.twilio_base_url.rstrip("/") or TWILIO_API
        self._timeout = settings.twilio_timeout_seconds
        self._limit = settings.worker_concurrency
        self._pool: HttpPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._texts: dict[str, str] = {}
        fields: dict[str, str] = {}
        for sender in self.senders:
            for name, value in sender.twilio_arguments().items():
                fields[_FORM_NAMES[name]] = value
        fields["StatusCallback"] = self.status_callback
        self._fields = urlencode(fields)
        host = HttpPool(self._base_url, limit=1, timeout=1).host_header
        credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token}"
        path = f"/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json"
        self._auth = f"Authorization: Basic {base64.b64encode(credentials.encode()).decode()}\r\n"
        self._messages_path = path.removesuffix(".json")
        self._host = host
        self._head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            f"{self._auth}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Accept: application/json\r\n"
            "User-Agent: klarvarsel\r\n"
            "Content-Length: "
        ).encode()

    @property
    def can_receive_replies(self) -> bool:
        """Whether recipients can answer (not with an alphanumeric sender ID alone)."""
        return any(sender.can_receive_replies for sender in self.senders)

    def _pool_for_running_loop(self) -> HttpPool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            self._pool = HttpPool(self._base_url, limit=self._limit, timeout=self._timeout)
            self._loop = loop
        return self._pool

    def _body(self, to: str, text: str) -> bytes:
        """The form for one message; the text's part is normalised and encoded once per text."""
        encoded = self._texts.get(text)
        if encoded is None:
            if len(self._texts) > 512:
                self._texts.clear()
            encoded = self._texts[text] = quote_plus(normalise_for_sms(text))
        return f"To={quote_plus(to)}&Body={encoded}&{self._fields}".encode()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand one SMS to Twilio within the configured timeout."""
        if message.channel != "sms":
            raise TransportError(
                f"the Twilio transport sends SMS, not {message.channel!r}", permanent=True
            )
        pool = self._pool_for_running_loop()
        body = self._body(message.to, message.text)
        head = self._head + str(len(body)).encode() + b"\r\n\r\n"
        try:
            status, answer = await pool.request(head, body)
        except HttpTimeout:
            raise TwilioTransportError(
                f"Twilio did not answer within {self._timeout:g} s (SMS to "
                f"{mask_address(message.to)})",
                permanent=False,
            ) from None
        except HttpError as exc:
            raise TwilioTransportError(
                f"could not reach Twilio (SMS to {mask_address(message.to)}): {exc}",
                permanent=False,
            ) from None
        if not 200 <= status < 300:
            raise _refusal(status, answer, message.to)
        try:
            created = json.loads(answer)
            provider_id = str(created["sid"])
        except (ValueError, KeyError, TypeError):
            raise TwilioTransportError(
                f"Twilio's answer for the SMS to {mask_address(message.to)} has no message sid",
                permanent=False,
            ) from None
        # No log line per message: at thousands a second it would cost more than the send.
        return SendResult(
            transport=self.name,
            provider_id=provider_id,
            status=str(created.get("status") or "queued"),
        )

    async def fetch_status(self, provider_id: str) -> tuple[str, str | None] | None:
        """Ask Twilio for a message's status (Message fetch): (status, error code); None: unknown.

        Raises TransportError when Twilio cannot be asked now (the caller asks again later).
        """
        if not _MESSAGE_SID.fullmatch(provider_id):
            return None  # not a Twilio message id: nothing to ask
        head = (
            f"GET {self._messages_path}/{provider_id}.json HTTP/1.1\r\n"
            f"Host: {self._host}\r\n{self._auth}"
            "Accept: application/json\r\nUser-Agent: klarvarsel\r\n\r\n"
        ).encode()
        try:
            status, answer = await self._pool_for_running_loop().request(head, b"")
        except HttpError as exc:  # HttpTimeout included
            raise TransportError(
                f"could not ask Twilio about {provider_id}: {exc}", permanent=False
            ) from None
        if status == 404:
            return None
        if not 200 <= status < 300:
            raise TransportError(
                f"Twilio answered HTTP {status} about {provider_id}", permanent=False
            )
        try:
            data = json.loads(answer)
            said = str(data["status"])
        except (ValueError, KeyError, TypeError):
            raise TransportError(
                f"Twilio's answer about {provider_id} has no status", permanent=False
            ) from None
        code = data.get("error_code")
        return said, (str(code) if code not in (None, "") else None)

    async def aclose(self) -> None:
        """Close the kept-alive connections."""
        if self._pool is not None:
            await self._pool.aclose()
        self._pool = self._loop = None

    async def __aenter__(self) -> TwilioSmsTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
