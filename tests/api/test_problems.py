"""Errors as RFC 9457 problems with every field path; 429 with Retry-After; the contract."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api.errors import install_problem_handlers
from service.api.ratelimit import BUCKETS
from service.clock import FrozenClock
from service.config import get_settings
from service.workflow.api_schemas import NOTICE_EXAMPLE
from tests.api.conftest import Api
from tests.conftest import ROOT

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"tag:klarvarsel,2026:problems/{kind}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _where(body: dict[str, Any]) -> dict[str, str]:
    return {p["location"]: p["message"] for p in body["problems"]}


def test_an_invalid_notice_names_the_path_of_every_problem(api: Api) -> None:
    raw = {**NOTICE_EXAMPLE, "areas": ["skultna"], "languages": ["sv", "sw"]}
    raw["fields"] = {**NOTICE_EXAMPLE["fields"], "expected_end": "2027-03-02T09:00:00+01:00"}
    del raw["fields"]["area_name"]
    body = _problem(
        api.client.post("/api/v1/notices", json=raw, headers=api.test_key), 422, "invalid-notice"
    )
    where = _where(body)
    assert where["fields.area_name"] == "is required"
    assert where["fields.expected_end"] == "is before starts_at; it must come after it"
    assert "did you mean skultuna" in where["areas.0"]
    assert "unknown language 'sw'" in where["languages.1"]
    assert "4 problems" in body["detail"]


def test_a_request_that_breaks_its_schema_names_each_place(api: Api) -> None:
    got = api.client.get("/api/v1/notices?limit=0&mode=real", headers=api.test_key)
    assert set(_where(_problem(got, 422, "invalid-request"))) == {"query.limit", "query.mode"}
    got = api.client.post(
        "/api/v1/recipients", json={"name": "", "languages": "sv"}, headers=api.admin
    )
    assert {"name", "languages"} <= set(_where(_problem(got, 422, "invalid-request")))
    got = api.client.get("/api/v1/notices?cursor=bm90LWEtY3Vyc29y", headers=api.test_key)
    assert set(_where(_problem(got, 422, "invalid-request"))) == {"query.cursor"}


def test_a_recipient_with_bad_details_gets_every_problem_with_its_field(api: Api) -> None:
    bad = {"name": "Kim", "phone": "123", "languages": ["sv", "xx"], "areas": ["nowhere"]}
    where = _where(
        _problem(
            api.client.post("/api/v1/recipients", json=bad, headers=api.admin),
            422,
            "invalid-notice",
        )
    )
    assert set(where) == {"phone", "languages.1", "areas.0"}


def test_an_import_with_bad_rows_reports_them_and_imports_nothing(api: Api) -> None:
    csv = "name;phone;areas\nKim;070-174 06 40;skultuna\nLo;12;skultuna\n"
    got = api.client.post(
        "/api/v1/recipients/import?confirm=true",
        content=csv.encode(),
        headers={**api.admin, "Content-Type": "text/csv"},
    )
    body = _problem(got, 422, "invalid-import")
    assert list(_where(body)) == ["line 3"]
    assert body["report"]["written"] is False and body["report"]["created"] == [2]
    dry = api.client.post(
        "/api/v1/recipients/import",
        content=csv.splitlines(keepends=True)[0].encode() + b"Kim;070-174 06 40;skultuna\n",
        headers={**api.admin, "Content-Type": "text/csv"},
    )
    assert dry.status_code == 200
    assert dry.json()["lines"][-1] == "dry run: nothing was imported; confirm to import"


def test_not_found_unauthenticated_and_wrong_state_are_problems(api: Api) -> None:
    _problem(api.client.get("/api/v1/notices/ZZZZZZ", headers=api.test_key), 404, "not-found")
    refused = api.client.get("/api/v1/notices")
    _problem(refused, 401, "not-authenticated")
    assert refused.headers["www-authenticate"].startswith('Bearer realm="Klarvarsel"')
    lacking = _problem(
        api.client.post("/api/v1/notices/ZZZZZZ/approve", headers=api.author),
        403,
        "forbidden",
    )
    assert lacking["missing_permission"] == "notices:approve"
    code = api.client.post("/api/v1/notices", json=NOTICE_EXAMPLE, headers=api.test_key).json()
    submit = f"/api/v1/notices/{code['code']}/submit"
    assert api.client.post(submit, headers=api.test_key).status_code == 200
    _problem(api.client.post(submit, headers=api.test_key), 409, "wrong-state")
    allow = api.client.delete("/api/v1/notices", headers=api.test_key)
    assert _problem(allow, 405, "method-not-allowed") and allow.headers["allow"] == "GET, POST"


def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probe = FastAPI()
    install_problem_handlers(probe)

    @probe.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret detail from deep inside")

    with caplog.at_level(logging.ERROR):
        got = TestClient(probe, raise_server_exceptions=False).get("/api/v1/boom")
    body = _problem(got, 500, "internal-error")
    assert "secret" not in got.text and "Traceback" not in got.text
    assert body["incident"] in body["detail"]
    assert f"incident {body['incident']}" in caplog.text and "secret detail" in caplog.text


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    api: Api, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLARVARSEL_API_RATE_LIMIT_PER_MINUTE", "30")
    monkeypatch.setenv("KLARVARSEL_API_RATE_LIMIT_BURST", "3")
    get_settings.cache_clear()
    BUCKETS.clear()
    key = api.key("notices:read")
    try:
        answers = [api.client.get("/api/v1/areas", headers=key) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        body = _problem(answers[3], 429, "rate-limited")
        assert answers[3].headers["retry-after"] == "2"  # one request every 2 s
        assert body["scope"] == "per API key, per server process"
        assert api.client.get("/api/v1/areas", headers=api.author).status_code == 200
        frozen_clock.advance(timedelta(seconds=2))
        assert api.client.get("/api/v1/areas", headers=key).status_code == 200
        assert api.client.get("/api/v1/areas", headers=key).status_code == 429
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        BUCKETS.clear()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text("utf-8"))
    return [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
    ]


def _has_example(schema: dict[str, Any], content: dict[str, Any]) -> bool:
    """An example for the body, or (a form) one for each of its fields."""
    if "example" in content or "examples" in content:
        return True
    body = content["schema"]
    if "examples" in body:
        return True
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        if "examples" in body:  # the model's own example
            return True
    fields = body.get("properties", {}).values()
    return bool(fields) and all("example" in f or "examples" in f for f in fields)


def test_the_contract_has_examples_stable_ids_security_and_problems() -> None:
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text("utf-8"))
    assert set(schema["components"]["securitySchemes"]) == {"apiKey", "session"}
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert schema["components"]["securitySchemes"]["session"]["in"] == "cookie"
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids))
    # Written out on every route (FastAPI's generated ids change when a function is renamed).
    assert all(i.replace("_", "").isalpha() and i.islower() for i in ids), ids
    missing = {
        f"{method} {path}"
        for path, method, operation in _operations()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        if not _has_example(schema, content)
    }
    assert not missing, sorted(missing)  # every request body has an example
    for path, method, operation in _operations():
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert list(response["content"]) == [PROBLEM], f"{method} {path} {status}"
