"""Every text field has a limit that holds through the API, with a short, precise answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.json_body import MAX_JSON_DEPTH
from service.config import get_settings
from service.content import ContentLibrary
from service.main import app
from service.notices.service import MAX_PROBLEMS
from tests.conftest import ROOT, load_json

client = TestClient(app)
PREVIEW = "/api/v1/notices/preview"


def _problems(notice: dict[str, Any] | str) -> dict[str, str]:
    content = notice if isinstance(notice, str) else json.dumps(notice)
    response = client.post(PREVIEW, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) < 20_000, "an invalid notice gets a short answer"
    return {p["location"]: p["message"] for p in response.json()["problems"]}


@pytest.fixture(autouse=True)
def signed_in(author_headers: dict[str, str]) -> Iterator[None]:
    """A fresh, migrated database (the preview reads the register) and an author's key."""
    client.headers.update(author_headers)
    yield
    client.headers.pop("Authorization", None)


@pytest.fixture
def general() -> dict[str, Any]:
    return load_json(ROOT / "message_templates" / "general" / "example.json")


def test_a_long_note_is_refused_naming_note_sv(water_notice: dict[str, Any]) -> None:
    water_notice["note"] = {"sv": "a" * 1001}
    assert _problems(water_notice) == {"note.sv": "String should have at most 1000 characters"}
    water_notice["note"] = {"sv": "a" * 1000}
    assert client.post(PREVIEW, json=water_notice).status_code == 200


def test_each_language_of_a_translated_text_has_the_fields_limit(general: dict[str, Any]) -> None:
    general["fields"]["headline"]["en"] = "x" * 91  # max_length = 90 in general/scenario.toml
    assert _problems(general) == {
        "fields.headline": "en is 91 characters; at most 90 are allowed",
    }


def test_translated_text_in_too_many_or_unknown_languages(general: dict[str, Any]) -> None:
    general["fields"]["message"] = {f"x{i}": "text" for i in range(51)}
    general["fields"]["sms"] = {"sv": "Kort.", "fi": "Lyhyt.", "l" * 70: "long tag"}
    problems = _problems(general)
    assert problems["fields.message"] == "has 51 languages; at most 50 are allowed"
    assert problems["fields.sms"].startswith("'llllllll")
    assert problems["fields.sms"].endswith("is not a language tag (at most 64 characters)")
    general["fields"]["sms"] = {"sv": "Kort.", "swedish": "Kort."}
    general["fields"]["message"] = {"sv": "Text.", "en": "Text."}
    assert _problems(general) == {
        "fields.sms.swedish": "unknown language 'swedish'; did you mean sv (Swedish)?"
    }


def test_list_fields_have_item_and_length_limits(water_notice: dict[str, Any]) -> None:
    water_notice["fields"]["water_points"] = ["Torget"] * 11
    assert _problems(water_notice) == {
        "fields.water_points": "has 11 items; at most 10 are allowed"
    }
    water_notice["fields"]["water_points"] = ["Torget", "x" * 121]
    assert _problems(water_notice) == {
        "fields.water_points": "item 2 is 121 characters; at most 120 are allowed"
    }


def test_thousands_of_unknown_fields_get_a_short_answer(water_notice: dict[str, Any]) -> None:
    water_notice["fields"].update({f"extra{i:04}": 1 for i in range(5000)})
    water_notice["fields"]["y" * 5000] = 1
    problems = _problems(water_notice)
    assert len(problems) == 11
    assert problems["fields"] == "has 4991 more keys that are not fields of water_outage"
    assert problems["fields.extra0000"].startswith("is not a field of water_outage")


def test_thousands_of_unknown_areas_get_a_short_answer(water_notice: dict[str, Any]) -> None:
    water_notice["areas"] = [f"nowhere{i}" for i in range(20_000)]
    problems = _problems(water_notice)
    assert problems["areas"] == "List should have at most 50 items after validation, not 20000"
    assert len(problems) == 1 + 50  # the list, and its first 50 items by name


def test_past_a_hundred_problems_the_rest_are_counted(water_notice: dict[str, Any]) -> None:
    water_notice["fields"]["water_points"] = ["\x00"] * 10
    water_notice["contact"] = {"phone": "\x01", "web": "\x02", "email": "\x03"}
    water_notice["note"] = {"sv": "ok", **{f"l{i}": "\x00" for i in range(49)}}
    water_notice["areas"] = [f"a{i}\x00" for i in range(50)]
    water_notice["audiences"] = [f"b{i}\x00" for i in range(50)]
    response = client.post(PREVIEW, json=water_notice)
    problems = response.json()["problems"]
    assert len(problems) == MAX_PROBLEMS
    last = problems[-1]
    assert last["location"] == ""
    assert last["message"].startswith("and ") and "more problems" in last["message"]


def test_deeply_nested_json_is_refused_saying_where(water_notice: dict[str, Any]) -> None:
    deep: Any = "text"
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    water_notice["fields"]["area_name"] = deep
    response = client.post(PREVIEW, json=water_notice)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "tag:klarvarsel,2026:problems/json-too-deep"
    assert problem["location"] == "fields.area_name" + ".0" * (MAX_JSON_DEPTH - 2)
    assert f"at most {MAX_JSON_DEPTH} levels" in problem["detail"]


def test_json_too_deep_for_the_parser_gets_the_same_problem() -> None:
    body = '{"scenario": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client.post(PREVIEW, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["type"] == "tag:klarvarsel,2026:problems/json-too-deep"
    assert "hundreds of levels" in response.json()["detail"]


def test_the_largest_valid_notice_fits_the_body_limit(
    general: dict[str, Any], library: ContentLibrary
) -> None:
    # Every language, every text at its limit, every character escaped (\u00f6) as Python's
    # json.dumps and many clients write it: the limit must never refuse a valid notice.
    specs = library.scenarios["general"].fields
    languages = list(library.languages)
    general["languages"] = languages
    general["fields"] = {f.name: dict.fromkeys(languages, "ö" * f.max_length) for f in specs}
    general["note"] = dict.fromkeys(languages, "ö" * 1000)
    body = json.dumps(general)
    assert len(body) < get_settings().max_body_bytes / 2
    response = client.post(PREVIEW, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text[:300]
