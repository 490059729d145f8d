"""The exercises API: schedules, fire times, runs of a script, reports and the calendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.clock import FrozenClock
from service.content import ContentLibrary
from service.main import app
from service.notices.publish import publish_notice
from service.notices.service import validate_notice
from service.store.database import get_engine, session_scope
from tests.accounts.support import api_key, bearer
from tests.exercises.conftest import quarterly_notice


@pytest.fixture
def client(var_dir: Path) -> Iterator[TestClient]:
    yield TestClient(app)


def key(*scopes: str) -> dict[str, str]:
    return bearer(api_key(get_engine(), *scopes))


def schedule(client: TestClient, headers: dict[str, str], name: str, **body: Any) -> Any:
    payload = {"name": name, "rule": "vma-quarterly", "notice": quarterly_notice(), **body}
    return client.post("/api/v1/schedules", json=payload, headers=headers)


def test_schedules_are_added_listed_paused_resumed_and_removed_by_senders_only(
    client: TestClient,
) -> None:
    sender, author = key("notices:send", "reports:read"), key("notices:read", "notices:write")
    assert schedule(client, author, "kvartalsprov").status_code == 403
    made = schedule(client, sender, "kvartalsprov")
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"/api/v1/schedules/{made.json()['id']}"
    one = client.get("/api/v1/schedules/kvartalsprov?count=4", headers=sender).json()
    times = [datetime.fromisoformat(t) for t in one["next_fire_times"]]
    assert len(times) == 4 and times == sorted(times)
    assert all((t.weekday(), t.hour, t.minute, t.month % 3) == (0, 15, 0, 0) for t in times)
    listed = client.get("/api/v1/schedules", headers=sender).json()
    assert [s["name"] for s in listed] == ["kvartalsprov"]
    path = "/api/v1/schedules/kvartalsprov"
    assert client.post(path + "/pause", headers=sender).json()["status"] == "paused"
    assert client.post(path + "/pause", headers=sender).status_code == 409
    assert client.post(path + "/resume", headers=sender).json()["status"] == "active"
    assert client.delete(path, headers=sender).json()["status"] == "removed"
    assert client.get("/api/v1/schedules", headers=sender).json() == []

    bad = client.post(
        "/api/v1/schedules",
        json={"name": "fel", "notice": {**quarterly_notice(), "mode": "actual"}},
        headers=sender,
    )
    assert bad.status_code == 422
    locations = {p["location"] for p in bad.json()["problems"]}
    assert {"rule", "notice.mode"} <= locations, bad.json()


def test_a_rule_s_next_fire_times_as_the_cli_prints_them(client: TestClient) -> None:
    reader = key("reports:read")
    got = client.get(
        "/api/v1/schedule-rules/next",
        params={"rule": "vma-quarterly", "count": 2, "after": "2027-01-01T00:00:00+01:00"},
        headers=reader,
    )
    assert got.json() == ["2027-03-01T15:00:00+01:00", "2027-06-07T15:00:00+02:00"]
    bad = client.get("/api/v1/schedule-rules/next", params={"rule": "99 * *"}, headers=reader)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_a_script_run_is_started_paused_resumed_moved_and_cancelled(client: TestClient) -> None:
    sender = key("notices:send", "reports:read")
    assert client.get("/api/v1/exercises/scripts", headers=sender).json() == ["county-exercise-day"]
    refused = client.post("/api/v1/exercises", json={"script": "../secret"}, headers=sender)
    assert refused.status_code == 422
    started = client.post(
        "/api/v1/exercises", json={"script": "county-exercise-day", "speed": 60}, headers=sender
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["status"] == "active" and len(run["injects"]) >= 3
    base = f"/api/v1/exercises/{run['id']}"
    assert client.post(base + "/pause", headers=sender).json()["status"] == "paused"
    assert client.post(base + "/resume", headers=sender).json()["status"] == "active"
    moved = client.post(base + "/move", json={"by_seconds": 3600}, headers=sender).json()
    shift = datetime.fromisoformat(moved["start_at"]) - datetime.fromisoformat(run["start_at"])
    assert timedelta(minutes=59) < shift < timedelta(minutes=61)
    gaps = [i["offset_seconds"] for i in moved["injects"]]
    assert gaps == [i["offset_seconds"] for i in run["injects"]]
    assert client.post(base + "/cancel", headers=sender).json()["status"] == "cancelled"
    assert client.post(base + "/cancel", headers=sender).status_code == 409
    report = client.get(base + "/report", headers=sender).json()
    assert report["run"]["id"] == run["id"]
    assert [i["key"] for i in report["injects"]] == [i["key"] for i in run["injects"]]
    assert client.get("/api/v1/exercises/999/report", headers=sender).status_code == 404


def test_a_test_broadcast_s_report_as_json_csv_and_pdf(
    client: TestClient, library: ContentLibrary
) -> None:
    raw = quarterly_notice()
    with session_scope() as session:
        notice = validate_notice(raw, library)
        code = publish_notice(session, notice, raw, actor="test", source="test").code
    reader = key("reports:read")
    path = f"/api/v1/reports/broadcasts/{code}"
    data = client.get(path, headers=reader).json()
    assert data["report"]["code"] == code and data["report"]["mode"] == "test"
    csv = client.get(path, params={"format": "csv"}, headers=reader)
    assert csv.headers["content-type"].startswith("text/csv") and code in csv.text
    pdf = client.get(path, params={"format": "pdf"}, headers=reader)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert client.get(path, headers=key("notices:read")).status_code == 403


def test_a_test_key_reads_no_report_of_a_real_notice(
    client: TestClient, library: ContentLibrary
) -> None:
    """A test key sees only exercise and test notices: a real one's report names people."""
    raw = {**quarterly_notice(), "mode": "actual"}
    with session_scope() as session:
        notice = validate_notice(raw, library)
        code = publish_notice(session, notice, raw, actor="test", source="test").code
    path = f"/api/v1/reports/broadcasts/{code}"
    test_key = bearer(api_key(get_engine(), "reports:read", test=True))
    refused = client.get(path, headers=test_key)
    assert refused.status_code == 403 and "test key" in refused.json()["detail"]
    assert client.get(path, headers=key("reports:read")).json()["report"]["mode"] == "actual"


def test_the_calendar_by_key_and_at_its_capability_address(
    client: TestClient, frozen_clock: FrozenClock
) -> None:
    # Frozen: each answer's DTSTAMP is "now", and a running clock may cross a second between them.
    sender = key("notices:send", "reports:read")
    assert schedule(client, sender, "VMA-prov").status_code == 201
    ics = client.get("/api/v1/calendar.ics", headers=sender)
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and "VMA-prov" in ics.text
    url = client.get("/api/v1/calendar", headers=sender).json()["url"]
    path = "/calendar/" + url.rsplit("/calendar/", 1)[1]
    assert client.get(path).text == ics.text  # no key needed at the secret address
    assert client.get("/calendar/" + "0" * 32 + ".ics").status_code == 404
    assert client.get("/api/v1/calendar.ics").status_code == 401
