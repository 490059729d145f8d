"""A local server that speaks Twilio's Messages API, so no test or benchmark reaches Twilio.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth (AccountSid:AuthToken) and
the form fields To, From or MessagingServiceSid, Body and StatusCallback answers 201 with a JSON
body shaped like Twilio's. `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json`
(Message fetch) answers with the message as it stands now (404 and code 20404 for one it never
accepted); `settle` moves a message on without a callback, as a network does, and `settles_as`
does so for every message from its first fetch. Every request is recorded (fetches apart).
Faults can be injected: a Twilio error code or HTTP status, or a delay, for the next k requests
or a fraction of them (seeded, so a run repeats). It can also post signed status callbacks, as
Twilio does.

Run it alone (for the benchmark) with `python -m tests.fakes.twilio_server --port 8765`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from service.channels.sms.encoding import analyse_sms
from tests.fakes import ServerThread

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# Twilio's wording (numbers included, as Twilio does: our transport must mask them).
ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
    "number via SMS.",
    21614: "'To' number {to} is not a valid mobile number",
}
DEFAULT_CODE = {401: 20003, 429: 20429, 500: 20500, 503: 20503}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Fault:
    """What to do instead of a normal answer: wait `delay` s, then answer `status` (if set)."""

    status: int | None = None
    code: int | None = None
    delay: float = 0.0
    remaining: int | None = None  # the next k requests; None: no limit
    fraction: float = 1.0  # the share of requests it hits (seeded random)
    until: float | None = None  # time.monotonic() after which it no longer hits (an outage)
    lasting: float | None = None  # an outage this long from the first request it hits


@dataclass
class FakeTwilio:
    """The fake Messages API with its records and faults; use as a context manager."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    seed: int = 20261123
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    # Statuses to report to each accepted message's StatusCallback, in order, as Twilio does
    # (e.g. ("sent", "delivered")); answers other than 2xx and errors are kept in
    # callback_failures, the others counted in callbacks_answered.
    callbacks: tuple[str, ...] = ()
    callback_failures: list[str] = field(default_factory=list)
    callbacks_answered: int = 0
    # Message fetches (GET), apart from `requests` (the sends).
    fetches: list[RecordedRequest] = field(default_factory=list)
    # The status (and error code) every message has reached when it is fetched, if set.
    settles_as: tuple[str, str | None] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)
        self._server: ServerThread | None = None
        self._stopping = False
        self._poster: aiohttp.ClientSession | None = None
        self._posting: set[asyncio.Task[None]] = set()
        self.app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account_sid}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route(
                    "/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}.json",
                    self._fetch_message,
                    methods=["GET"],
                ),
            ]
        )

    @property
    def base_url(self) -> str:
        """What `client.api.base_url` (settings.twilio_base_url) should be."""
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget requests, messages and faults, and restart the seeded random (between tests)."""
        with self._lock:
            self.requests.clear()
            self.fetches.clear()
            self.messages.clear()
            self.faults.clear()
            self.settles_as = None
            self._random.seed(self.seed)

    def fail_next(self, count: int, *, status: int, code: int | None = None) -> None:
        """Answer the next `count` requests with this HTTP status and Twilio error code."""
        self.faults.append(Fault(status=status, code=code, remaining=count))

    def fail_fraction(self, fraction: float, *, status: int, code: int | None = None) -> None:
        """Answer a share of all requests (seeded random) with this error."""
        self.faults.append(Fault(status=status, code=code, fraction=fraction))

    def fail_for(self, seconds: float, *, status: int, code: int | None = None) -> None:
        """Answer every request with this error for `seconds` from the next request (an outage),
        then recover."""
        self.faults.append(Fault(status=status, code=code, lasting=seconds))

    def delay_next(self, count: int, seconds: float) -> None:
        """Wait `seconds` before answering the next `count` requests (to trigger timeouts)."""
        self.faults.append(Fault(delay=seconds, remaining=count))

    def _next_fault(self) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining is not None and fault.remaining <= 0:
                    continue
                if fault.lasting is not None and fault.until is None:
                    fault.until = time.monotonic() + fault.lasting
                if fault.until is not None and time.monotonic() >= fault.until:
                    continue
                if fault.fraction < 1.0 and self._random.random() >= fault.fraction:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    async def _waited(self, request: Request, seconds: float) -> bool:
        """Sleep `seconds`; False as soon as the client hangs up or the server stops."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping or await request.is_disconnected():
                return False
            await asyncio.sleep(min(left, 0.02))
        # Once more at the end: on a starved machine the last nap can end long after the
        # client gave up, and a request whose client is gone is not accepted.
        return not (self._stopping or await request.is_disconnected())

    def _authorised(self, request: Request, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        header = request.headers.get("authorization", "")
        return account_sid == self.account_sid and secrets.compare_digest(
            header, f"Basic {expected}"
        )

    def _error(self, status: int, code: int | None, to: str) -> JSONResponse:
        code = code or DEFAULT_CODE.get(status, status)
        message = ERROR_MESSAGES.get(code, "Error").format(to=to)
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status)

    async def _create_message(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode("utf-8")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        record = RecordedRequest(request.method, request.url.path, dict(request.headers), form)
        with self._lock:
            self.requests.append(record)
        to = form.get("To", "")
        fault = self._next_fault()
        if fault is not None:
            if fault.delay and not await self._waited(request, fault.delay):
                return JSONResponse({}, status_code=499)  # the client gave up first
            if fault.status is not None:
                return self._error(fault.status, fault.code, to)
        if not self._authorised(request, request.path_params["account_sid"]):
            return self._error(401, 20003, to)
        problem = (
            21604
            if not to
            else 21211
            if not _E164.fullmatch(to)
            else 21603
            if not (form.get("From") or form.get("MessagingServiceSid"))
            else 21602
            if not form.get("Body")
            else None
        )
        if problem:
            return self._error(400, problem, to)
        message = self._message(form)
        if self.callbacks and form.get("StatusCallback"):
            task = asyncio.create_task(self._report(form["StatusCallback"], message["sid"]))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        return JSONResponse(message, status_code=201)

    def settle(self, sid: str, status: str, error_code: str | None = None) -> None:
        """Move a message on (delivered, undelivered...) without telling anyone, as networks do."""
        with self._lock:
            message = self.messages[sid]
            message["status"] = status
            message["error_code"] = int(error_code) if error_code else None
            message["date_updated"] = format_datetime(datetime.now(UTC))

    async def _fetch_message(self, request: Request) -> JSONResponse:
        """Message fetch: the message as it stands now (Twilio's shape), or 404 (code 20404)."""
        record = RecordedRequest(request.method, request.url.path, dict(request.headers), {})
        with self._lock:
            self.fetches.append(record)
        fault = self._next_fault()
        if fault is not None:
            if fault.delay and not await self._waited(request, fault.delay):
                return JSONResponse({}, status_code=499)
            if fault.status is not None:
                return self._error(fault.status, fault.code, "")
        if not self._authorised(request, request.path_params["account_sid"]):
            return self._error(401, 20003, "")
        sid = request.path_params["message_sid"]
        with self._lock:
            known = sid in self.messages
        if not known:
            body = {
                "code": 20404,
                "message": f"The requested resource {request.url.path} was not found",
                "more_info": "https://www.twilio.com/docs/errors/20404",
                "status": 404,
            }
            return JSONResponse(body, status_code=404)
        if self.settles_as is not None and self.messages[sid]["status"] in ("queued", "accepted"):
            self.settle(sid, *self.settles_as)
        with self._lock:
            message = dict(self.messages[sid])
        return JSONResponse(message)

    async def _report(self, url: str, sid: str) -> None:
        """Post this message's status callbacks, signed, one after the other."""
        if self._poster is None:
            # aiohttp: about half the CPU of httpx per request, and this shares a core.
            connector = aiohttp.TCPConnector(limit=100)
            # Twilio waits 15 s for our answer. Waiting for one of this fake's own 100
            # connections is not our answer being slow, so it does not count (with a total
            # timeout, 6,000 callbacks queued here timed out on a busy machine).
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=15.0, sock_read=15.0)
            self._poster = aiohttp.ClientSession(connector=connector, timeout=timeout)
        for status in self.callbacks:
            params, headers = self._signed_callback(url, sid, status)
            try:
                async with self._poster.post(url, data=params, headers=headers) as answer:
                    await answer.read()
                    ok = 200 <= answer.status < 300
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.callback_failures.append(f"{status}: {type(exc).__name__}")
                continue
            if ok:
                self.callbacks_answered += 1
            else:
                self.callback_failures.append(f"{status}: HTTP {answer.status}")

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(analyse_sms(form["Body"], normalise=False).segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Twilio says "accepted" while a Messaging Service still picks the sender.
            "status": "queued" if form.get("From") else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }
        with self._lock:
            self.messages[sid] = message
        return message

    def send_status_callback(
        self,
        url: str,
        message_sid: str,
        status: str,
        *,
        error_code: str | None = None,
        auth_token: str | None = None,
    ) -> httpx.Response:
        """Post a status callback signed as Twilio signs it (with `auth_token` to forge one)."""
        params, headers = self._signed_callback(
            url, message_sid, status, error_code=error_code, auth_token=auth_token
        )
        return httpx.post(url, data=params, headers=headers, timeout=5)

    def _signed_callback(
        self,
        url: str,
        message_sid: str,
        status: str,
        *,
        error_code: str | None = None,
        auth_token: str | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        message = self.messages.get(message_sid, {})
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.get("from") or "",
            "MessageSid": message_sid,
            "MessageStatus": status,
            "SmsSid": message_sid,
            "SmsStatus": status,
            "To": message.get("to", ""),
        }
        if error_code:
            params["ErrorCode"] = error_code
        validator = RequestValidator(auth_token or self.auth_token)
        signature = validator.compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        return params, headers

    def start(self) -> FakeTwilio:
        """Serve on a free 127.0.0.1 port (or `port`) in a background thread."""
        self._stopping = False
        self._server = ServerThread(self.app, self.port).start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        """Stop serving: delayed answers give up at once, then the thread ends."""
        self._stopping = True
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Serve in the foreground on --port (used by the benchmark from its own process)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)
    args = parser.parse_args()
    fake = FakeTwilio(auth_token=args.auth_token)
    uvicorn.Server(ServerThread(fake.app, args.port).config()).run()


if __name__ == "__main__":
    main()
