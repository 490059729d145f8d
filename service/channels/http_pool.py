"""A lean HTTP/1.1 client for one origin: kept-alive connections, pre-encoded requests.

Sending an alert is thousands of nearly identical POSTs to one host, so a general client's
work per request (URL parsing, header objects, cookie jars, middleware) is most of the CPU a
message costs. This client writes bytes the caller prepared onto a pooled connection and reads
the status, the headers it needs and the body (Content-Length or chunked).

Timeouts never throw away an answer that has arrived: the time limit for an answer starts once
the request is written, and when it runs out the connection is checked first. An event loop
that was starved (a busy machine) sees the answer's bytes before it sees its own timer, so a
message the provider accepted is not reported as timed out and sent again. A connection that
fails before any answer is closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from urllib.parse import urlsplit

IDLE_SECONDS = 4.0  # a kept-alive connection unused this long is closed, not reused
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024


class HttpError(Exception):
    """The connection failed or the answer was not HTTP we can read (nothing was answered)."""


class HttpTimeout(HttpError):
    """No answer began within the time limit."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection: feeds received bytes to the answer being read."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.error: BaseException | None = None
        self.wake: asyncio.Future[None] | None = None
        self.last_used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()

    def _wake(self) -> None:
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HttpPool:
    """Up to `limit` kept-alive connections to the origin of `base_url`."""

    def __init__(self, base_url: str, *, limit: int, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default = (parts.scheme == "https" and self.port == 443) or self.port == 80
        self.host_header = self.host if default else f"{self.host}:{self.port}"
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.timeout = timeout
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(limit)

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one request (`head` ends with the blank line); the status and the body.

        Raises HttpTimeout when no answer began within the timeout, HttpError when the
        connection failed first.
        """
        async with self._slots:
            connection = self._take() or await self._connect()
            try:
                status, answer, keep = await self._exchange(connection, head + body)
            except BaseException:
                connection.close()
                raise
            if keep and not connection.closed:
                connection.last_used = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
            return status, answer

    def _take(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.last_used < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                )
        except TimeoutError:
            raise HttpTimeout(f"could not connect within {self.timeout:g} s") from None
        except OSError as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        return connection

    async def _exchange(self, connection: _Connection, data: bytes) -> tuple[int, bytes, bool]:
        assert connection.transport is not None
        connection.buffer.clear()
        connection.transport.write(data)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            parsed = _parse(connection.buffer)
            if parsed is not None:
                return parsed
            if connection.closed:
                raise HttpError(f"the connection closed before the answer ({connection.error})")
            now = loop.time()
            if now >= deadline:
                if not connection.buffer:
                    raise HttpTimeout(f"no answer within {self.timeout:g} s")
                # An answer has begun: it was accepted. Give it one more period to finish.
                deadline = now + self.timeout
                if len(connection.buffer) > MAX_HEAD + MAX_BODY:
                    raise HttpError("the answer is too large")
            connection.wake = loop.create_future()
            timer = loop.call_at(deadline, connection._wake)
            try:
                await connection.wake
            finally:
                timer.cancel()
                connection.wake = None

    async def aclose(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep-alive) once the whole answer is in `buffer`; None until then."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise HttpError("the answer's headers are too long")
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    try:
        version, code = lines[0].split(b" ", 2)[:2]
        status = int(code)
    except ValueError:
        raise HttpError(f"not an HTTP answer: {lines[0][:80]!r}") from None
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get(b"connection", b"").lower() != b"close" and version == b"HTTP/1.1"
    start = end + 4
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _chunked(buffer, start, status, keep)
    length = int(headers.get(b"content-length", b"-1"))
    if length < 0:
        raise HttpError("an answer without Content-Length (the connection is closed after it)")
    if length > MAX_BODY:
        raise HttpError("the answer is too large")
    if len(buffer) < start + length:
        return None
    return status, bytes(buffer[start : start + length]), keep


def _chunked(
    buffer: bytearray, start: int, status: int, keep: bool
) -> tuple[int, bytes, bool] | None:
    body = bytearray()
    at = start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        if size == 0:  # the last chunk, then trailers (usually none) and a blank line
            if buffer.find(b"\r\n\r\n", line_end) < 0:
                return None
            return status, bytes(body), keep
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += buffer[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2
        if len(body) > MAX_BODY:
            raise HttpError("the answer is too large")
