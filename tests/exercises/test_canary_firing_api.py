"""Canaries and a schedule's firings over the REST API, from the real app served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.audit.models import AuditEvent
from service.exercises.models import FiringRecord
from service.main import app
from service.store.database import session_scope
from tests.accounts.support import api_key, bearer
from tests.exercises.conftest import quarterly_notice
from tests.fakes import ServerThread
from tests.web.staff_site import StaffSite, staff_site


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StaffSite]]:
    with staff_site(tmp_path_factory.mktemp("canary-api")) as site, ServerThread(app) as server:
        yield server.url, site


def _client(served: tuple[str, StaffSite], *scopes: str) -> httpx.Client:
    url, site = served
    return httpx.Client(base_url=url, headers=bearer(api_key(site.engine, *scopes)), timeout=30)


def _problems(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return {p["location"]: p["message"] for p in response.json()["problems"]}


def test_canaries_are_added_listed_changed_and_removed_by_senders_only(
    served: tuple[str, StaffSite],
) -> None:
    sender = _client(served, "notices:send")
    for scopes in (("reports:read",), ("recipients:read", "notices:read")):
        with _client(served, *scopes) as other:
            assert other.get("/api/v1/canaries").status_code == 403  # addresses: personal data
            assert other.post("/api/v1/canaries", json={}).status_code == 403

    bad = sender.post(
        "/api/v1/canaries",
        json={"channel": "fax", "address": " ", "label": "Jour\u202etelefon", "language": "xx"},
    )
    assert bad.status_code == 422
    assert set(_problems(bad)) == {"channel", "address", "label", "language"}  # all at once
    too_long = sender.post(
        "/api/v1/canaries", json={"channel": "sms", "address": "1" * 255, "label": "x" * 201}
    )
    assert too_long.status_code == 422
    assert {"address", "label"} <= set(_problems(too_long))

    body = {"channel": "sms", "address": "070-123 45 67", "label": "Jourtelefon"}
    headers = {"Idempotency-Key": "canary-1"}
    made = sender.post("/api/v1/canaries", json=body, headers=headers)
    assert made.status_code == 201, made.text
    canary = made.json()
    assert (canary["address"], canary["active"], canary["language"]) == ("+46701234567", True, "sv")
    assert made.headers["location"] == f"/api/v1/canaries/{canary['id']}"
    again = sender.post("/api/v1/canaries", json=body, headers=headers)
    assert again.json() == canary and again.headers["idempotent-replayed"] == "true"
    taken = sender.post("/api/v1/canaries", json=body)
    assert taken.status_code == 422 and "already canary" in _problems(taken)["address"]
    mailbox = sender.post(
        "/api/v1/canaries",
        json={"channel": "email", "address": "krisledning@example.se", "label": "Brevlåda"},
    ).json()

    listed = sender.get("/api/v1/canaries").json()
    assert [c["id"] for c in listed] == [mailbox["id"], canary["id"]]  # by channel, then id
    assert [c["id"] for c in sender.get("/api/v1/canaries?channel=sms").json()] == [canary["id"]]

    path = f"/api/v1/canaries/{canary['id']}"
    wrong = sender.put(path, json={"address": "jour@example.se", "label": ""})
    assert wrong.status_code == 422 and set(_problems(wrong)) == {"address", "label"}
    changed = sender.put(
        path, json={"address": "+46 70 765 43 21", "label": "Jour 2", "language": "en"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["address"], changed.json()["label"]) == ("+46707654321", "Jour 2")
    assert sender.get(path).json() == changed.json()

    removed = sender.delete(path)
    assert removed.status_code == 200 and removed.json()["active"] is False
    assert sender.delete(path).status_code == 409
    assert sender.put(path, json={"address": "+46707654321", "label": "x"}).status_code == 409
    assert [c["id"] for c in sender.get("/api/v1/canaries").json()] == [mailbox["id"]]
    everyone = sender.get("/api/v1/canaries?include_removed=true").json()
    assert len(everyone) == 2
    assert sender.get("/api/v1/canaries/999999").status_code == 404

    with session_scope(served[1].engine) as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.source, AuditEvent.details).where(
                AuditEvent.subject_type == "canary",
                AuditEvent.subject_id == str(canary["id"]),
            )
        ).all()
    assert [e.action for e in events] == ["canary.added", "canary.changed", "canary.removed"]
    assert all(e.source.startswith("api") for e in events)
    assert all("+4670" not in str(e.details) for e in events)  # no address in the log


def _firings(site: StaffSite, schedule_id: int, start: datetime) -> list[int]:
    """Four fire times a week apart: on time, late, missed and failed (the newest)."""
    rows: list[dict[str, Any]] = [
        {"status": "sent", "late_seconds": 5.0},
        {"status": "sent", "late_seconds": 1800.0},
        {"status": "missed", "reason": "beyond the grace time"},
        {"status": "failed", "reason": "the notice failed its checks"},
    ]
    with session_scope(site.engine) as session:
        made = [
            FiringRecord(
                schedule_id=schedule_id,
                fire_time=start + timedelta(weeks=n),
                scheduler_id="test",
                **row,
            )
            for n, row in enumerate(rows)
        ]
        session.add_all(made)
        session.flush()
        return [f.id for f in made]


def test_a_schedule_s_firings_are_listed_with_timing_filters_and_pages(
    served: tuple[str, StaffSite],
) -> None:
    sender = _client(served, "notices:send", "reports:read")
    made = sender.post(
        "/api/v1/schedules",
        json={"name": "veckoprov", "rule": "0 15 * * 1", "notice": quarterly_notice()},
    )
    assert made.status_code == 201, made.text
    start = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    ids = _firings(served[1], made.json()["id"], start)
    reader = _client(served, "reports:read")
    got = reader.get("/api/v1/schedules/veckoprov/firings")
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    assert [f["id"] for f in items] == ids[::-1]  # newest fire time first
    assert [f["timing"] for f in items] == ["failed", "missed", "late", "on_time"]
    assert items[0]["fire_time"] == "2026-11-23T15:00:00+01:00"  # in Swedish time
    assert items[0]["reason"] == "the notice failed its checks"
    assert items[0]["report_url"] == f"/exercises/reports/firings/{ids[3]}"
    assert got.json()["next_cursor"] is None
    report = reader.get("/api/v1/reports/broadcasts/veckoprov").json()  # its latest firing
    assert report["report_url"] == items[0]["report_url"]

    late = reader.get(f"/api/v1/schedules/{made.json()['id']}/firings?timing=late").json()
    assert [(f["id"], f["late_seconds"]) for f in late["items"]] == [(ids[1], 1800.0)]
    since = reader.get(
        "/api/v1/schedules/veckoprov/firings",
        params={"fired_from": "2026-11-09T15:00:00+01:00", "fired_to": "2026-11-16T16:00:00+01:00"},
    ).json()
    assert [f["id"] for f in since["items"]] == [ids[2], ids[1]]

    first = reader.get("/api/v1/schedules/veckoprov/firings?limit=3").json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = reader.get(
        "/api/v1/schedules/veckoprov/firings", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [f["id"] for f in rest["items"]] == [ids[0]] and rest["next_cursor"] is None

    bad = reader.get("/api/v1/schedules/veckoprov/firings?cursor=nope&timing=soon")
    assert bad.status_code == 422
    missing = reader.get("/api/v1/schedules/nothing/firings")
    assert missing.status_code == 404
    with _client(served, "notices:read") as author:
        assert author.get("/api/v1/schedules/veckoprov/firings").status_code == 403
