"""Idempotency-Key: replayed, refused with another body, 409 while running, never sent twice."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.api.idempotency import IdempotentRequest, _reserve, request_digest
from service.audit.models import AuditEvent
from service.main import app
from service.store.database import get_engine, make_engine, session_scope
from service.store.migrate import upgrade
from service.workflow.api_schemas import NOTICE_EXAMPLE
from tests.accounts.support import api_key, bearer, using_database
from tests.api.conftest import Api


def _notice(note: str) -> dict[str, Any]:
    return {**NOTICE_EXAMPLE, "note": {"sv": note}}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _sent_events(engine: Engine, code: str) -> int:
    with session_scope(engine) as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "notice.sent")
        ).all()
        return sum(1 for e in events if (e.details or {}).get("code") == code)


def test_the_same_key_and_body_get_the_first_answer_and_create_once(api: Api) -> None:
    headers = {**api.test_key, **_key()}
    body = _notice("Första gången.")
    first = api.client.post("/api/v1/notices", json=body, headers=headers)
    again = api.client.post("/api/v1/notices", json=dict(reversed(body.items())), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = api.client.get("/api/v1/notices?state=draft&limit=100", headers=api.test_key).json()
    assert [n["code"] for n in listed["items"]].count(first.json()["code"]) == 1


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    headers = {**api.test_key, **_key()}
    assert api.client.post("/api/v1/notices", json=_notice("A"), headers=headers).is_success
    other = api.client.post("/api/v1/notices", json=_notice("B"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "tag:klarvarsel,2026:problems/idempotency-key-reused"


def test_keys_belong_to_their_caller(api: Api) -> None:
    key = _key()
    body = _notice("Två system, samma nyckel.")
    one = api.client.post("/api/v1/notices", json=body, headers={**api.test_key, **key})
    other = api.client.post("/api/v1/notices", json=body, headers={**api.admin, **key})
    assert one.status_code == other.status_code == 201
    assert one.json()["code"] != other.json()["code"]


def test_a_key_still_running_is_a_409_with_retry_after(api: Api) -> None:
    headers = {**api.test_key, **_key()}
    body = _notice("Pågår.")
    path = "/api/v1/notices"
    digest = request_digest("POST", path, json.dumps(body).encode())
    owner = "key:" + api.test_key["Authorization"].removeprefix("Bearer ")[:16]
    request = IdempotentRequest(headers["Idempotency-Key"], "POST", path, digest)
    assert isinstance(_reserve(get_engine(), owner, request), int)  # another request has it
    running = api.client.post(path, json=body, headers=headers)
    assert running.status_code == 409
    assert running.headers["retry-after"] == "1"
    assert running.json()["type"] == "tag:klarvarsel,2026:problems/idempotency-key-in-use"


def test_a_failed_first_request_frees_its_key(api: Api) -> None:
    headers = {**api.test_key, **_key()}
    broken = {**_notice("Fel först."), "areas": ["skultna"]}
    refused = api.client.post("/api/v1/notices", json=broken, headers=headers)
    assert refused.status_code == 422
    fixed = api.client.post("/api/v1/notices", json=_notice("Fel först."), headers=headers)
    assert fixed.status_code == 201


def test_a_send_retried_with_its_key_answers_the_same_and_sends_once(api: Api) -> None:
    created = api.client.post(
        "/api/v1/notices", json=_notice("Skicka en gång."), headers=api.test_key
    )
    code = created.json()["code"]
    headers = {**api.test_key, **_key()}
    first = api.client.post(f"/api/v1/notices/{code}/send", json={}, headers=headers)
    again = api.client.post(f"/api/v1/notices/{code}/send", json={}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {"code": code, "state": "sent", "send_at": None}
    assert _sent_events(get_engine(), code) == 1


@pytest.fixture
def postgres_app(postgres_url: str) -> Iterator[tuple[Engine, dict[str, str]]]:
    """The app on PostgreSQL (no in-process worker: only sending is under test)."""
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    with using_database(app, engine):
        yield (
            engine,
            bearer(api_key(engine, "notices:read", "notices:write", "notices:send", test=True)),
        )
    engine.dispose()


@pytest.mark.parametrize("same_key", [True, False], ids=["same key", "different keys"])
def test_two_concurrent_sends_on_postgresql_send_once(
    postgres_app: tuple[Engine, dict[str, str]], same_key: bool
) -> None:
    engine, key = postgres_app
    client = TestClient(app, raise_server_exceptions=False)
    code = client.post("/api/v1/notices", json=_notice("Samtidigt."), headers=key).json()["code"]
    shared = _key()
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        headers = {**key, **(shared if same_key else _key())}
        start.wait()
        answers.append(
            TestClient(app, raise_server_exceptions=False).post(
                f"/api/v1/notices/{code}/send", json={}, headers=headers
            )
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2
    sent = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    if same_key and len(sent) == 2:  # the later one got the first's answer again
        assert [a.headers.get("idempotent-replayed") for a in sent].count("true") == 1
    else:
        assert len(sent) == 1 and len(refused) == 1, [a.text for a in answers]
        kind = "idempotency-key-in-use" if same_key else "wrong-state"
        assert refused[0].status_code == 409, refused[0].text
        assert refused[0].json()["type"] == f"tag:klarvarsel,2026:problems/{kind}"
    assert _sent_events(engine, code) == 1
