"""Request body limits: a body over its limit is refused before it is read into memory.

A 5 MB note was once accepted and rendered into a 5 MB page; eight at once kept /healthz waiting
for seconds. Every body now has a limit (`Settings.max_body_bytes`, with larger or smaller ones
per path in `Settings.body_limits`, e.g. for a CSV import). A Content-Length over the limit is
refused before the app runs; a body without one (chunked) is counted as it arrives and refused
the moment it passes the limit. Either way the client gets a 413 problem that names the limit
and how much it sent, and the app never holds more than the limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import byte_count, problem_response
from service.config import Settings, get_settings

logger = logging.getLogger(__name__)

# Answers of their own for some paths (the staff pages' 413 page, service.web.error_pages):
# each gets (scope, limit, sent, declared) and returns an ASGI answer, or None to pass.
PageRefusal = Callable[[Scope, int, int, bool], ASGIApp | None]
PAGE_REFUSALS: list[PageRefusal] = []


def body_limit(settings: Settings, path: str) -> int:
    """The body limit for `path`: the longest matching entry of body_limits, else the default."""
    matches = [
        (len(prefix), limit)
        for prefix, limit in settings.body_limits.items()
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix))
    ]
    return max(matches)[1] if matches else settings.max_body_bytes


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server (h11, httptools) has already refused a malformed Content-Length.
            return int(value) if value.isdigit() else None
    return None


def _refusal(scope: Scope, limit: int, sent: int, *, declared: bool) -> ASGIApp:
    for page in PAGE_REFUSALS:
        answer = page(scope, limit, sent, declared)
        if answer is not None:
            return answer
    return _too_large(limit, sent, declared=declared)


def _too_large(limit: int, sent: int, *, declared: bool) -> ASGIApp:
    if declared:
        detail = (
            f"The request body is {byte_count(sent)}; this address accepts at most "
            f"{byte_count(limit)}. Nothing was read."
        )
    else:
        detail = (
            f"The request body passed the limit of {byte_count(limit)}: reading stopped after "
            f"{byte_count(sent)} had arrived."
        )
    return problem_response(
        413,
        "body-too-large",
        "Request body too large",
        detail,
        limit_bytes=limit,
        received_bytes=sent,
        declared=declared,
    )


class BodySizeLimit:
    """Pure ASGI middleware: 413 application/problem+json for a body over its path's limit."""

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings] = get_settings) -> None:
        self.app = app
        self.settings = settings  # read per request, so a changed setting needs no new app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings(), scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            # The server discards the unread body, so the connection stays usable.
            await _refusal(scope, limit, declared, declared=True)(scope, receive, send)
            return
        received = 0
        refused = started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refusal(scope, limit, received, declared=False)(scope, receive, send)
                    # To the app the client has gone: it stops reading and its answer is dropped.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the 413 was the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # A route that reads the body itself sees the "disconnect" as an error; the client
            # already has its 413, so this is no server fault.
            logger.info("%s %s: body over %d bytes refused", scope["method"], scope["path"], limit)
