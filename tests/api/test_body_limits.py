"""Request body limits, over real HTTP: uvicorn on 127.0.0.1 serving the whole app."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.limits import BodySizeLimit, body_limit
from service.config import Settings, get_settings
from service.content import ContentLibrary
from tests.conftest import ROOT, load_json
from tests.fakes import ServerThread
from tests.live_app import LiveApp, live_app

PREVIEW = "/api/v1/notices/preview"
FIVE_MB = 5 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, library: ContentLibrary) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("limits"), library) as app:
        yield app


def _water() -> dict[str, Any]:
    return load_json(ROOT / "message_templates" / "water_outage" / "example.json")


def _big_notice(size: int = FIVE_MB) -> bytes:
    notice = _water()
    notice["note"] = {"sv": "a" * size}
    return json.dumps(notice).encode()


def _connect(live: LiveApp) -> socket.socket:
    port = int(live.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _head(path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (raises socket.timeout if none comes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        received = sock.recv(65536)
        assert received, "the server closed the connection without answering"
        data += received
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def _assert_problem(headers: dict[str, str], body: bytes, *, declared: bool) -> dict[str, Any]:
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    limit = get_settings().max_body_bytes
    assert problem["type"] == "tag:klarvarsel,2026:problems/body-too-large"
    assert problem["title"] == "Request body too large"
    assert problem["status"] == 413
    assert problem["limit_bytes"] == limit and problem["declared"] is declared
    assert f"{limit:,} bytes (512 KiB)" in problem["detail"]
    assert f"{problem['received_bytes']:,} bytes" in problem["detail"]
    return problem


def test_a_5_mb_notice_is_refused_before_its_body_is_read(server: LiveApp) -> None:
    body = _big_notice()
    with _connect(server) as sock:
        # Only the headers and the first 64 KiB: the answer must not wait for the rest.
        sock.sendall(_head(PREVIEW, Content_Length=str(len(body))) + body[:CHUNK])
        status, headers, answer = _read_response(sock)
    assert status == 413
    problem = _assert_problem(headers, answer, declared=True)
    assert problem["received_bytes"] == len(body)
    assert "Nothing was read" in problem["detail"]
    assert headers["x-content-type-options"] == "nosniff"  # the refusal is a response like any


def test_an_ordinary_client_gets_the_413_and_can_go_on(server: LiveApp) -> None:
    body = _big_notice()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post(PREVIEW, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413
        _assert_problem(dict(response.headers), response.content, declared=True)
        assert len(response.content) < 1000  # not a 5 MB page
        assert client.get("/healthz").json() == {"status": "ok"}


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(server: LiveApp) -> None:
    limit = get_settings().max_body_bytes
    sent = 0
    with _connect(server) as sock:
        sock.sendall(_head(PREVIEW, Transfer_Encoding="chunked"))
        while sent <= limit + CHUNK:
            sock.sendall(_chunk(b" " * CHUNK))
            sent += CHUNK
        # No final chunk: the body has not ended, yet the answer comes.
        status, headers, answer = _read_response(sock)
    assert status == 413
    problem = _assert_problem(headers, answer, declared=False)
    assert limit < problem["received_bytes"] <= sent
    assert "reading stopped after" in problem["detail"]


def test_a_streamed_upload_without_content_length_gets_the_413(server: LiveApp) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(32):  # 2 MiB
            yield b" " * CHUNK

    response = httpx.post(
        server.url + PREVIEW,
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    _assert_problem(dict(response.headers), response.content, declared=False)


def test_bodies_under_the_limit_pass_with_or_without_content_length(server: LiveApp) -> None:
    body = json.dumps(_water()).encode()
    headers = {"content-type": "application/json", **server.headers}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        plain = client.post(PREVIEW, content=body, headers=headers)
        streamed = client.post(PREVIEW, content=iter([body[:100], body[100:]]), headers=headers)
    assert plain.status_code == streamed.status_code == 200
    assert plain.json()["files"] == streamed.json()["files"]


def test_a_route_that_reads_its_body_itself_is_limited_too(server: LiveApp) -> None:
    # The Twilio callback parses its form itself; a flood there is refused the same way.
    def chunks() -> Iterator[bytes]:
        for _ in range(12):
            yield b"a=" + b"b" * (CHUNK - 2)

    response = httpx.post(
        server.url + "/api/v1/callbacks/twilio/status",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_healthz_answers_while_eight_oversize_requests_are_refused(server: LiveApp) -> None:
    # Functional, not timed (timings: bench/http_limits.py): sixteen uploads are open and unread
    # (eight announced as 5 MB, eight chunked and past the limit); each has had its 413, and
    # /healthz still answers.
    limit = get_settings().max_body_bytes
    declared = [_connect(server) for _ in range(8)]
    chunked = [_connect(server) for _ in range(8)]
    try:
        for sock in declared:
            sock.sendall(_head(PREVIEW, Content_Length=str(FIVE_MB)) + b" " * CHUNK)
        for sock in chunked:
            sock.sendall(_head(PREVIEW, Transfer_Encoding="chunked"))
            for _ in range(limit // CHUNK + 1):
                sock.sendall(_chunk(b" " * CHUNK))
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
        statuses = [_read_response(sock)[0] for sock in declared + chunked]
        assert statuses == [413] * 16
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
    finally:
        for sock in declared + chunked:
            sock.close()


def test_limits_per_path_take_the_longest_match() -> None:
    settings = Settings(
        max_body_bytes=2048,
        body_limits={"/api/v1/recipients/import": 10_000, "/uploads/": 5_000},
    )
    assert body_limit(settings, "/api/v1/notices/preview") == 2048
    assert body_limit(settings, "/api/v1/recipients/import") == 10_000
    assert body_limit(settings, "/api/v1/recipients/import-log") == 2048  # not a prefix match
    assert body_limit(settings, "/uploads/a/b") == 5_000
    assert body_limit(settings, "/uploads") == 2048


def test_a_larger_limit_for_one_path_over_http() -> None:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"received": len(await request.body())})

    inner = Starlette(routes=[Route("/{path:path}", echo, methods=["POST"])])
    settings = Settings(max_body_bytes=1024, body_limits={"/import": 4096})
    with ServerThread(BodySizeLimit(inner, settings=lambda: settings)) as small:
        big = httpx.post(f"{small.url}/import", content=b"x" * 3000)
        elsewhere = httpx.post(f"{small.url}/other", content=b"x" * 3000)
    assert big.json() == {"received": 3000}
    assert elsewhere.status_code == 413
    assert elsewhere.json()["limit_bytes"] == 1024
    assert "1,024 bytes (1 KiB)" in elsewhere.json()["detail"]
