"""The preview shows what will be sent: the real link, warnings, the plan in counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli
from service.main import app

client = TestClient(app)


@pytest.fixture(autouse=True)
def signed_in(author_headers: dict[str, str]) -> Iterator[None]:
    """A fresh, migrated database (var_dir) and an author's key."""
    client.headers.update(author_headers)
    yield
    client.headers.pop("Authorization", None)


def test_preview_carries_the_link_warnings_and_the_plan(
    water_notice: dict[str, Any], var_dir: Path
) -> None:
    assert CliRunner().invoke(cli, ["demo-data"]).exit_code == 0
    body = client.post("/api/v1/notices/preview", json=water_notice).json()
    code = body["code"]
    assert body["public_url"].endswith(f"/n/{code}")
    assert f"/n/{code}" in body["files"]["sv/standard.sms.txt"]
    assert body["plan"]["recipients"] == 4 and body["plan"]["by_channel"]["sms"] >= 1
    assert body["warnings"] == [] and body["duplicate_of"] is None
    # Nobody in the register: a warning, not an error.
    nobody = dict(water_notice, audiences=["visually-impaired"])
    warned = client.post("/api/v1/notices/preview", json=nobody).json()
    assert [w["location"] for w in warned["warnings"]] == ["areas"]


def test_preview_refuses_an_update_of_an_unknown_notice(
    water_notice: dict[str, Any], var_dir: Path
) -> None:
    update = dict(water_notice, message_type="update", references="NOPE99")
    response = client.post("/api/v1/notices/preview", json=update)
    assert response.status_code == 422
    problems = {p["location"]: p["message"] for p in response.json()["problems"]}
    assert "no notice has the code 'NOPE99'" in problems["references"]
