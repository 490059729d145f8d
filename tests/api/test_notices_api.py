"""The notices API end to end: create each example, four eyes, send, the outbox gets it."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.config import get_settings
from tests.api.conftest import Api
from tests.conftest import SAMPLE_NOTICES

EXAMPLES = sorted(SAMPLE_NOTICES.glob("*.json"))


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE_NOTICES / name).read_text("utf-8"))
    return data


def _wait_delivered(api: Api, code: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        progress = api.client.get(f"/api/v1/notices/{code}/progress", headers=api.approver).json()
        if progress["total"] and progress["done"]:
            return progress
        assert time.monotonic() < deadline, f"{code} was not delivered in time: {progress}"
        time.sleep(0.2)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_author_creates_an_approver_approves_and_sends_and_the_outbox_gets_it(
    api: Api, path: Any
) -> None:
    created = api.client.post("/api/v1/notices", json=_example(path.name), headers=api.author)
    assert created.status_code == 201, created.text
    body = created.json()
    code = body["code"]
    assert created.headers["location"] == f"/api/v1/notices/{code}"
    assert body["state"] == "draft" and body["problems"] == []
    assert body["report"]["passed"], "every shipped example passes every check"
    assert {row["channel"] for row in body["report"]["variants"]} >= {"sms"}

    approved = api.client.post(f"/api/v1/notices/{code}/approve", headers=api.approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["notice"]["state"] == "approved"
    assert approved.json()["impact"]["recipients"] > 0

    sent = api.client.post(f"/api/v1/notices/{code}/send", json={}, headers=api.approver)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"code": code, "state": "sent", "send_at": None}
    again = api.client.post(f"/api/v1/notices/{code}/send", json={}, headers=api.approver)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("/wrong-state")

    progress = _wait_delivered(api, code)
    assert progress["overall"]["sent"] + progress["overall"]["delivered"] > 0
    outbox = get_settings().outbox_dir
    written = [p.read_text("utf-8") for p in outbox.rglob("*") if p.is_file()]
    assert any(code in text for text in written), "the messages carry the notice's link"

    got = api.client.get(f"/api/v1/notices/{code}?checks=false", headers=api.author).json()
    assert got["state"] == "sent" and got["sent_by"].startswith("key:kv_live_")
    assert got["report"] is None


def test_a_key_cannot_approve_an_alert_it_wrote(api: Api) -> None:
    raw = _example("water_outage_skultuna.json")
    raw["note"] = {"sv": "Fyra ögon."}
    code = api.client.post("/api/v1/notices", json=raw, headers=api.both).json()["code"]
    refused = api.client.post(f"/api/v1/notices/{code}/approve", headers=api.both)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"] == "tag:klarvarsel,2026:problems/not-allowed"
    assert "four eyes" in problem["detail"]
    refused = api.client.post(f"/api/v1/notices/{code}/send", json={}, headers=api.both)
    assert refused.status_code == 409 and "must be approved" in refused.json()["detail"]
    assert api.client.post(f"/api/v1/notices/{code}/approve", headers=api.approver).is_success


def test_one_person_municipalities_may_approve_their_own(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _example("water_outage_skultuna.json")
    raw["note"] = {"sv": "En person i tjänst."}
    code = api.client.post("/api/v1/notices", json=raw, headers=api.both).json()["code"]
    monkeypatch.setenv("KLARVARSEL_ALLOW_SELF_APPROVAL", "true")
    get_settings.cache_clear()
    try:
        approved = api.client.post(f"/api/v1/notices/{code}/approve", headers=api.both)
    finally:
        monkeypatch.delenv("KLARVARSEL_ALLOW_SELF_APPROVAL")
        get_settings.cache_clear()
    assert approved.status_code == 200
    assert approved.json()["notice"]["self_approved"] is True


def test_the_list_filters_and_pages_with_a_cursor(api: Api, pinned_clock: Any) -> None:
    key = api.key("notices:read", "notices:write", test=True)  # sees only its kind of notices
    codes = []
    for n in range(3):
        raw = {**_example("heat_wave_exercise.json"), "note": {"sv": f"Sida {n}."}}
        codes.append(api.client.post("/api/v1/notices", json=raw, headers=key).json()["code"])
    listed = api.client.get("/api/v1/notices?state=draft&scenario=heat_wave&limit=2", headers=key)
    page = listed.json()
    assert [n["code"] for n in page["items"]] == codes[:0:-1]  # newest first
    rest = api.client.get(
        "/api/v1/notices",
        params={
            "state": "draft",
            "scenario": "heat_wave",
            "limit": 2,
            "cursor": page["next_cursor"],
        },
        headers=key,
    ).json()
    assert [n["code"] for n in rest["items"]] == codes[:1] and rest["next_cursor"] is None
    assert all(n["mode"] in ("exercise", "test") for n in rest["items"])
    now = pinned_clock.now()
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Stockholm")).isoformat()
    ask = {"scenario": "heat_wave", "limit": 100}
    after = api.client.get("/api/v1/notices", params={**ask, "created_from": later}, headers=key)
    assert after.json()["items"] == []
    within = api.client.get(
        "/api/v1/notices", params={**ask, "created_from": earlier, "created_to": later}, headers=key
    ).json()
    assert set(codes) <= {n["code"] for n in within["items"]}
