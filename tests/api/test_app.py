from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.main import app
from tests.accounts.support import api_key, bearer, using_database
from tests.conftest import ROOT


@pytest.fixture
def client(accounts_engine: Engine) -> Iterator[TestClient]:
    """The app with a key that reads content and previews notices (an author's system)."""
    key = api_key(accounts_engine, "notices:read", "notices:write")
    with using_database(app, accounts_engine):
        yield TestClient(app, headers=bearer(key))


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_start_page_lists_scenarios_and_translation_status(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="sv">' in page.text
    assert "Vattenavbrott" in page.text
    assert '<span lang="ar" dir="rtl">العربية</span>' in page.text
    assert "utkast" in page.text


def test_scenarios_expose_fields_with_help(client: TestClient) -> None:
    scenario = client.get("/api/v1/scenarios/water_outage").json()
    fields = {f["name"]: f for f in scenario["fields"]}
    assert fields["starts_at"]["type"] == "datetime" and fields["starts_at"]["required"]
    assert fields["expected_end"]["after"] == "starts_at"
    assert client.get("/api/v1/scenarios/nope").status_code == 404


def test_languages_report_review_status_and_coverage(client: TestClient) -> None:
    languages = {lang["tag"]: lang for lang in client.get("/api/v1/languages").json()}
    assert languages["sv"]["review_status"] == "draft"
    assert languages["en"]["review_status"] == "source"
    assert languages["en"]["coverage"]["water_outage"]["percent"] == 100.0


def test_preview_refuses_an_invalid_notice_naming_every_problem(
    client: TestClient, water_notice: dict[str, Any]
) -> None:
    water_notice["fields"]["expected_end"] = "2026-11-23T09:00:00+01:00"
    del water_notice["fields"]["area_name"]
    response = client.post("/api/v1/notices/preview", json=water_notice)
    assert response.status_code == 422
    problems = {p["location"]: p["message"] for p in response.json()["problems"]}
    assert problems == {
        "fields.area_name": "is required",
        "fields.expected_end": "is before starts_at; it must come after it",
    }


def test_preview_renders_and_checks_every_variant(
    client: TestClient, water_notice: dict[str, Any]
) -> None:
    water_notice.update(languages=["sv", "en"], audiences=["general-public", "easy-read"])
    body = client.post("/api/v1/notices/preview", json=water_notice).json()
    rows = body["report"]["variants"]
    assert {(r["audience"], r["language"], r["channel"]) for r in rows} >= {
        ("easy-read", "sv", "sms"),
        ("general-public", "en", "email"),
    }
    assert "Vi stänger av vattnet" in body["files"]["sv/easy_read.sms.txt"]


def test_openapi_yaml_is_the_apps_schema() -> None:
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text("utf-8"))
    assert committed == app.openapi(), "run: klarvarsel openapi > openapi.yaml"
