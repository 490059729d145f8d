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


def test_preview_checks_the_communicators_own_text_for_each_audience(
    water_notice: dict[str, Any], var_dir: Path
) -> None:
    """A note with formal words and one long sentence, in Swedish only, sent in Arabic too."""
    note = (
        "Med anledning av arbetet kommer vattnet att stängas av under ett antal timmar, och vi "
        "ber alla boende i området att i möjligaste mån undvika att använda vatten under tiden."
    )
    notice = dict(
        water_notice,
        note={"sv": note},
        languages=["sv", "ar"],
        audiences=["easy-read", "general-public"],
        channels=["email"],
    )
    body = client.post("/api/v1/notices/preview", json=notice).json()
    report = body["report"]
    rows = {(r["audience"], r["language"]): r for r in report["variants"]}
    easy = rows["easy-read", "sv"]["communicator_text"]
    assert [c["field"] for c in easy] == ["note"]
    assert easy[0]["concerns"] == "communicator_text" and easy[0]["text_language"] == "sv"
    assert not easy[0]["passed"]  # over the easy-read limits
    suggestions = [f["suggestion"] for f in easy[0]["findings"] if f["kind"] == "plain_word"]
    assert "på grund av, efter" in suggestions, easy[0]["findings"]  # "med anledning av"
    # The same text is measured against each audience's own limits.
    general = rows["general-public", "sv"]["communicator_text"][0]
    assert general["findings"] != easy[0]["findings"]
    # In the Arabic variant the note is Swedish: marked so, and counted as needing translation.
    arabic = rows["easy-read", "ar"]
    assert arabic["communicator_text"][0]["needs_translation"] is True
    assert any(
        f["check"] == "communicator_text" and f.get("needs_translation") for f in arabic["findings"]
    )
    # They inform the communicator; the templates' own checks decide whether a variant passes.
    ours = [f for f in arabic["findings"] if f["check"] == "communicator_text"]
    assert ours and all(f["severity"] == "warning" for f in ours)
    assert report["summary"]["needs_translation"] == 1
    assert report["needs_translation"] == [{"language": "ar", "field": "note"}]
    html = body["files"]["ar/easy_read.email.html"]
    assert '<span lang="sv" dir="ltr">' in html and "(باللغة السويدية)" in html
