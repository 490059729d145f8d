"""The Schedules page: schedules added, paused and resumed; exercises run; reports as pages.

One deployment (SQLite under a temporary var/) for the module; the clock is frozen per test.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.accounts.admin_render import local_time
from service.accounts.roles import Role
from service.audit.models import AuditEvent
from service.clock import FrozenClock
from service.config import get_settings
from service.content import ContentLibrary
from service.exercises.firing import fire_due
from service.exercises.models import ExerciseRunRecord, FiringRecord, ScheduleRecord
from service.exercises.report_render import CSV_COLUMNS
from service.main import app
from service.store.database import session_scope
from tests.exercises.conftest import QUARTERLY_TEST, canaries, person, register, schedule
from tests.web.staff_site import StaffSite, email_of, staff_site, summary

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DECEMBER = datetime(2026, 12, 7, 15, 0, tzinfo=STOCKHOLM)
MARCH = datetime(2027, 3, 1, 15, 0, tzinfo=STOCKHOLM)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    with staff_site(tmp_path_factory.mktemp("schedules")) as made:
        yield made


def schedule_row(page: str, name: str) -> str:
    row = re.search(rf'<tr id="schedule-\d+"><th scope="row">{name}</th>.*?</tr>', page, re.DOTALL)
    assert row, f"no row for {name}"
    return row.group(0)


def test_a_schedule_is_added_paused_and_resumed_from_the_page(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    approver, csrf = site.client(Role.approver, app)
    form = approver.get("/exercises/schedules/new").text
    notice = html.unescape(
        re.search(r'<textarea id="notice"[^>]*>(.*?)</textarea>', form, re.DOTALL).group(1)
    )  # type: ignore[union-attr]
    assert notice == QUARTERLY_TEST.read_text("utf-8")  # the quarterly test is filled in
    wrong = approver.post(
        "/exercises/schedules",
        data={
            "csrf_token": csrf,
            "name": "",
            "kind": "once",
            "date": "2026-11-01",
            "time": "15:00",
            "notice": notice,
        },
    )
    assert wrong.status_code == 400
    assert summary(wrong.text) == [
        "name: is empty",
        "at: 2026-11-01T15:00:00+01:00 has already passed",
    ]
    broken = approver.post(
        "/exercises/schedules",
        data={"csrf_token": csrf, "name": "x", "kind": "cron", "cron": "", "notice": "{"},
    )
    assert (
        summary(broken.text)[0]
        == "Skriv en cron-regel, till exempel 0 15 * * 1 för kl. 15.00 varje måndag"
    )
    assert summary(broken.text)[1].startswith("Meddelandet är inte giltig JSON: Expecting")
    added = approver.post(
        "/exercises/schedules",
        data={
            "csrf_token": csrf,
            "name": "kvartalsprov",
            "kind": "vma-quarterly",
            "grace": "60",
            "notice": notice,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, summary(added.text)
    page = approver.get(added.headers["location"]).text
    assert "Schemat lades till." in page
    row = schedule_row(page, "kvartalsprov")
    # The next three quarterly tests, the first in full.
    assert local_time(DECEMBER, "sv", "full") in row
    assert local_time(MARCH, "sv") in row and "aktiv" in row
    with session_scope(site.engine) as session:
        schedule_id = session.scalars(
            sa.select(ScheduleRecord.id).where(ScheduleRecord.name == "kvartalsprov")
        ).one()
    viewer, viewer_csrf = site.client(Role.viewer, app)
    assert "kvartalsprov" in viewer.get("/exercises/schedules").text
    refused = viewer.post(
        f"/exercises/schedules/{schedule_id}/pause", data={"csrf_token": viewer_csrf}
    )
    assert refused.status_code == 403
    paused = approver.post(f"/exercises/schedules/{schedule_id}/pause", data={"csrf_token": csrf})
    assert "Schemat är pausat." in paused.text
    assert "pausat: inga" in schedule_row(paused.text, "kvartalsprov")
    frozen_clock.set(DECEMBER + timedelta(hours=1))  # December's test passes while paused
    approver, csrf = site.client(Role.approver, app)  # (a new session: the old one idled out)
    resumed = approver.post(f"/exercises/schedules/{schedule_id}/resume", data={"csrf_token": csrf})
    assert "Schemat är aktivt igen." in resumed.text
    assert local_time(MARCH, "sv", "full") in schedule_row(resumed.text, "kvartalsprov")
    with session_scope(site.engine) as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.source).where(
                AuditEvent.subject_type == "schedule",
                AuditEvent.subject_id == str(schedule_id),
            )
        ).all()
    assert [tuple(e)[:2] for e in events] == [
        ("schedule.added", email_of(Role.approver)),
        ("schedule.paused", email_of(Role.approver)),
        ("schedule.resumed", email_of(Role.approver)),
    ]
    assert all(e.source.split()[0] == "web" for e in events)  # the page, not the command line


def test_an_exercise_is_started_compressed_paused_moved_resumed_and_cancelled(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    approver, csrf = site.client(Role.approver, app)
    unknown = approver.post(
        "/exercises/runs", data={"csrf_token": csrf, "script": "../../etc", "speed": "7"}
    )
    assert summary(unknown.text) == ["Välj ett av övningsmanusen", "Välj en hastighet"]
    started = approver.post(
        "/exercises/runs",
        data={"csrf_token": csrf, "script": "county-exercise-day", "speed": "60"},
    )
    assert "Övningen startades." in started.text
    with session_scope(site.engine) as session:
        run = session.scalars(
            sa.select(ExerciseRunRecord).order_by(ExerciseRunRecord.id.desc())
        ).first()
        assert run is not None and run.speed == 60
        run_id, start = run.id, run.start_at
    base = f"/exercises/runs/{run_id}"
    assert "Övningen är pausad." in approver.post(f"{base}/pause", data={"csrf_token": csrf}).text
    both = approver.post(
        f"{base}/move", data={"csrf_token": csrf, "shift": "15m", "date": "2027-01-01"}
    )
    assert summary(both.text) == ["Skriv en ny start eller en förskjutning, inte båda"]
    moved = approver.post(f"{base}/move", data={"csrf_token": csrf, "shift": "15m"})
    assert "avstånden mellan inspelen är kvar" in moved.text
    frozen_clock.advance(timedelta(minutes=5))
    assert "Övningen fortsätter" in approver.post(f"{base}/resume", data={"csrf_token": csrf}).text
    with session_scope(site.engine) as session:
        run = session.get(ExerciseRunRecord, run_id)
        assert run is not None
        # Moved by 15 minutes, then on by the 5 minutes it was paused.
        assert run.start_at.replace(tzinfo=None) == (start + timedelta(minutes=20)).replace(
            tzinfo=None
        )
    assert "Övningen avbröts." in approver.post(f"{base}/cancel", data={"csrf_token": csrf}).text
    with session_scope(site.engine) as session:
        sources = session.scalars(
            sa.select(AuditEvent.source).where(
                AuditEvent.subject_type == "exercise_run", AuditEvent.subject_id == str(run_id)
            )
        ).all()
    assert len(sources) == 5 and all(s.split()[0] == "web" for s in sources), sources
    report = approver.get(f"/exercises/reports/runs/{run_id}")
    assert report.status_code == 200 and "Inspel" in report.text


def test_a_test_report_page_draws_its_chart_and_offers_csv_pdf_and_the_calendar(
    site: StaffSite, frozen_clock: FrozenClock, library: ContentLibrary
) -> None:
    settings = get_settings()
    register(site.engine, person("Övare", exercise=True, phone="+46701740601"))
    canaries(site.engine, library)
    schedule_id = schedule(
        site.engine, library, settings, "rapportprov", now=frozen_clock.now(), rule="vma-quarterly"
    )
    frozen_clock.set(DECEMBER + timedelta(minutes=1))
    views = fire_due(site.engine, settings, library, scheduler_id="page-test")
    assert [v.status for v in views] == ["sent"]
    with session_scope(site.engine) as session:
        firing_id = session.scalars(
            sa.select(FiringRecord.id).where(FiringRecord.schedule_id == schedule_id)
        ).one()
    viewer, _csrf = site.client(Role.viewer, app)
    listing = viewer.get("/exercises/schedules").text
    assert f'href="/exercises/reports/firings/{firing_id}"' in listing
    page = viewer.get(f"/exercises/reports/firings/{firing_id}").text
    assert "<h1>Rapport: provsändning" in page
    charts = re.findall(r'<svg [^>]*role="img"[^>]*>.*?</svg>', page, re.DOTALL)
    assert any("<title" in c and "Andel nådda per kanal" in c and "<rect" in c for c in charts)
    assert "Övare" not in page or "Ej nådda" in page  # names only in the not-reached table
    data = viewer.get(f"/exercises/reports/firings/{firing_id}/report.csv")
    rows = list(csv.reader(io.StringIO(data.content.decode("utf-8-sig")), delimiter=";"))
    assert tuple(rows[0]) == CSV_COLUMNS and {r[6] for r in rows[1:]} >= {"sms"}
    pdf = viewer.get(f"/exercises/reports/firings/{firing_id}/report.pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    calendar = viewer.get("/exercises/calendar.ics").text
    assert "SUMMARY:Provsändning: rapportprov" in calendar
    address = re.search(r'id="calendar-link" readonly value="([^"]+)"', listing)
    assert address
    path = address.group(1).split("://", 1)[1].split("/", 1)[1]
    subscribed = TestClient(app).get(f"/{path}")  # a calendar app: no session, no key
    assert subscribed.status_code == 200 and subscribed.text == calendar
    assert TestClient(app).get("/exercises/calendar/1.nope.ics").status_code == 404
