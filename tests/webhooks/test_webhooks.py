"""Webhooks end to end: a real receiver on 127.0.0.1 gets every event once, signed, after a 500.

The workflow and the delivery worker write the events (the outbox); the sender delivers them
over HTTP to a ThreadingHTTPServer this test starts, which verifies each signature as any
receiver would (with its own code, the README's snippet) and answers 500 once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from service.cli import app as cli
from service.clock import utcnow
from service.config import get_settings
from service.content import ContentLibrary
from service.delivery.planning import plan_deliveries
from service.delivery.worker import run_worker
from service.main import app
from service.notices.service import validate_notice
from service.store.database import get_engine, session_scope
from service.webhooks.addresses import AddressRefused, check_url
from service.webhooks.models import WebhookDelivery, WebhookEvent
from service.webhooks.sender import run_sender
from service.workflow.approval import approve
from service.workflow.drafts import create_draft, submit
from service.workflow.schemas import Actor
from service.workflow.sending import send
from tests.accounts.support import api_key, bearer
from tests.conftest import SAMPLE_NOTICES, load_json
from tests.delivery.test_planning import person, register


@dataclass
class Received:
    """What the receiver got: every request, and the ids it accepted."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    fail_once: str = "notice.approved"
    failed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def verify(secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """A receiver's check (Standard Webhooks), written apart from the service's own code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(stamp)) > 300:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(sig.removeprefix("v1,"), expected)
        for sig in headers["webhook-signature"].split()
    )


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with got.lock:
                got.requests.append((self.path, headers, body))
                kind = json.loads(body)["type"]
                first = kind == got.fail_once and headers["webhook-id"] not in got.failed
                if first:
                    got.failed.add(headers["webhook-id"])
            status = 410 if self.path == "/gone" else 500 if first else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLARVARSEL_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("KLARVARSEL_WEBHOOK_RETRY_BASE_SECONDS", "0.2")
    get_settings.cache_clear()


def subscribe(client: TestClient, headers: dict[str, str], url: str, events: list[str]) -> Any:
    got = client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=headers)
    assert got.status_code == 201, got.text
    return got.json()


def send_all(deadline_seconds: float = 20.0) -> None:
    """Run the sender until nothing is pending (retries come due after their delay)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        run_sender(get_settings(), stop_event=threading.Event(), once=True)
        with session_scope() as session:
            open_ = session.scalar(
                sa.select(sa.func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status.in_(["pending", "sending"]))
            )
        if not open_:
            return
        time.sleep(0.1)
    raise AssertionError("webhook deliveries still pending")


def a_notice_through_the_workflow(library: ContentLibrary) -> str:
    """Draft, submit, approve (another person), send, plan and deliver to two people by SMS."""
    engine = get_engine()
    register(engine, person("Ada", phone="+46701000001", areas=["skultuna"]))
    register(engine, person("Bo", phone="+46701000002", areas=["skultuna"]))
    raw = load_json(SAMPLE_NOTICES / "water_outage_skultuna.json")
    author, approver = Actor("author@example.se", "api"), Actor("approver@example.se", "api")
    settings = get_settings()
    with session_scope() as session:
        draft = create_draft(session, raw, library, author, complete=True)
        submit(session, draft, library, author)
        approve(session, draft, library, settings, approver, accept_failed_checks=True)
        send(session, draft, library, settings, approver)
        code = draft.code
    with session_scope() as session:
        from service.notices.publish import find_by_code

        record = find_by_code(session, code)
        assert record is not None
        notice = validate_notice(record.payload, library)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        plan_deliveries(factory, record, notice, library, library.areas, settings)
    run_worker(settings, stop_event=threading.Event(), once=True, engine=engine, library=library)
    return code


def test_a_receiver_gets_every_event_once_signed_and_retried_after_a_500(
    loopback_allowed: None, receiver: tuple[str, Received], library: ContentLibrary
) -> None:
    url, got = receiver
    client = TestClient(app)
    reader = bearer(api_key(get_engine(), "notices:read", "reports:read"))
    hook = subscribe(client, reader, url + "/hook", ["notice.*", "delivery.*"])
    assert hook["secret"].startswith("whsec_")
    gone = subscribe(client, reader, url + "/gone", ["notice.sent"])
    tester = bearer(api_key(get_engine(), "notices:read", test=True))
    subscribe(client, tester, url + "/test-only", ["notice.*"])
    code = a_notice_through_the_workflow(library)
    send_all()

    to_hook = [(h, b) for path, h, b in got.requests if path == "/hook"]
    now = int(utcnow().timestamp())
    assert all(verify(hook["secret"], h, b, now) for h, b in to_hook)
    assert not any(verify(gone["secret"], h, b, now) for h, b in to_hook)  # its own secret
    ids = [h["webhook-id"] for h, _ in to_hook]
    types = {h["webhook-id"]: json.loads(b)["type"] for h, b in to_hook}
    with session_scope() as session:
        queued = session.scalars(
            sa.select(WebhookEvent.message_id)
            .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
            .where(WebhookDelivery.subscription_id == hook["id"])
        ).all()
    # Every event queued for the hook reached it; only the one answered 500 came twice.
    assert len(queued) == len(set(queued)) == 6
    assert set(ids) == set(queued)
    retried = [i for i in set(ids) if ids.count(i) > 1]
    assert [types[i] for i in retried] == ["notice.approved"]
    assert ids.count(retried[0]) == 2
    # Requests go out side by side, so their order is not the events' (README "Webhooks").
    assert sorted(types[i] for i in set(ids)) == [
        "delivery.sent",  # the worker recorded each person's SMS: one event each
        "delivery.sent",
        "notice.approved",
        "notice.draft_created",
        "notice.sent",
        "notice.submitted",
    ]
    first = json.loads(next(b for h, b in to_hook if types[h["webhook-id"]] == "notice.sent"))
    assert first["data"]["code"] == code and first["data"]["status"] == "sent"
    sent = [json.loads(b)["data"] for h, b in to_hook if types[h["webhook-id"]] == "delivery.sent"]
    assert len({d["delivery_id"] for d in sent}) == 2
    assert all((d["notice_code"], d["channel"], d["attempts"]) == (code, "sms", 1) for d in sent)
    assert not any(k in d for d in sent for k in ("address", "name", "phone"))  # no personal data
    # A test key's subscription hears nothing of an actual notice; 410 is not retried.
    assert not [p for p, _, _ in got.requests if p == "/test-only"]
    assert [p for p, _, _ in got.requests].count("/gone") == 1

    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=reader).json()
    approved = next(d for d in log if d["type"] == "notice.approved")
    assert approved["status"] == "delivered" and approved["attempts"] == 2
    assert [a["status_code"] for a in approved["log"]] == [500, 204]
    gone_log = client.get(f"/api/v1/webhooks/{gone['id']}/deliveries", headers=reader).json()
    assert [(d["status"], d["last_status_code"]) for d in gone_log] == [("failed", 410)]
    # Nobody else sees the subscription.
    other = bearer(api_key(get_engine(), "notices:read"))
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=other).status_code == 404

    again = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{approved['id']}/redeliver", headers=reader
    )
    assert again.status_code == 202
    before = len(got.requests)
    send_all()
    [(path, headers, _body)] = got.requests[before:]
    assert (path, headers["webhook-id"]) == ("/hook", approved["webhook_id"])

    result = CliRunner().invoke(cli, ["webhooks", "log", str(hook["id"])])
    assert result.exit_code == 0, result.output
    assert "notice.approved" in result.output and "500" in result.output
    result = CliRunner().invoke(cli, ["webhooks", "redeliver", str(approved["id"])])
    assert result.exit_code == 0 and "queued again" in result.output
    result = CliRunner().invoke(cli, ["webhooks", "send", "--once"])
    assert result.exit_code == 0 and "sent 1 webhook request(s)" in result.output

    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=reader).status_code == 204
    listed = client.get("/api/v1/webhooks", headers=reader).json()
    assert [(s["id"], s["url"], "secret" in s) for s in listed] == [
        (gone["id"], gone["url"], False)
    ]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/hook",
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://user:secret@8.8.8.8/hook",
        "http://0.0.0.0/hook",
        # IPv6 forms that carry a private IPv4 address: NAT64, 6to4, IPv4-compatible, Teredo.
        "http://[64:ff9b::a00:1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:a9fe:a9fe::1]/hook",
        "http://[::a00:1]/hook",
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook",
    ],
)
def test_webhooks_never_go_to_other_schemes_or_private_addresses(url: str) -> None:
    with pytest.raises(AddressRefused):
        check_url(url, allow_private=False)


def test_a_subscription_is_refused_with_every_problem_at_once(var_dir: Path) -> None:
    client = TestClient(app)
    reader = bearer(api_key(get_engine(), "notices:read"))
    got = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1/hook", "events": ["notice.sent", "delivery.failed", "x"]},
        headers=reader,
    )
    assert got.status_code == 422
    assert got.headers["content-type"] == "application/problem+json"
    problems = got.json()["problems"]
    assert [p["location"] for p in problems] == ["url", "events", "events"], problems
    assert "private" in problems[0]["message"] and "unknown 'x'" in problems[1]["message"]
    assert "reports:read" in problems[2]["message"]
    assert check_url("https://8.8.8.8/hook", allow_private=False) == "https://8.8.8.8/hook"


def test_a_revoked_key_s_subscriptions_hear_nothing_more(var_dir: Path) -> None:
    from service.accounts.keys import find_key, revoke_key
    from service.webhooks.events import emit

    client = TestClient(app)
    secret = api_key(get_engine(), "notices:read")
    subscribe(client, bearer(secret), "https://8.8.8.8/hook", ["notice.*"])

    def queued() -> int:
        with session_scope() as session:
            emit(session, "notice.sent", {"code": "X"}, mode="actual")
            session.flush()
            return int(session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)))

    assert queued() == 1
    with session_scope() as session:
        key = find_key(session, secret[:16])
        assert key is not None
        revoke_key(session, key, actor="test", source="test")
    assert queued() == 1  # nothing new for the revoked key's subscription
