"""Reports of tests and exercises from stored data: figures, HTML with SVG, CSV, tagged PDF, .ics.

One scenario on SQLite: a quarterly test that reaches one person and the duty phone while the
shared mailbox is not reached (the test does not use e-mail), then a test missed in the next
quarter; and a compressed exercise run stepped through with a frozen clock.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from service.cli import app
from service.clock import FrozenClock
from service.config import Settings, get_settings
from service.content import ContentLibrary
from service.delivery.worker import run_worker
from service.exercises.calendar import calendar_ics
from service.exercises.firing import fire_due
from service.exercises.models import ExerciseRunRecord, FiringRecord
from service.exercises.report_render import (
    CSV_COLUMNS,
    broadcast_csv,
    broadcast_html,
    exercise_csv,
    exercise_html,
    html_to_pdf,
)
from service.exercises.reports import broadcast_report, exercise_report, quarterly_trend
from service.exercises.runs import start_run
from service.exercises.scripts import load_script
from service.main import app as web_app
from service.store.database import get_engine, session_scope
from tests.accessibility import axe_violations, chromium, describe
from tests.exercises.conftest import canaries, person, quarterly_notice, register, schedule

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DECEMBER = datetime(2026, 12, 7, 15, 0, tzinfo=STOCKHOLM)
MARCH = datetime(2027, 3, 1, 15, 0, tzinfo=STOCKHOLM)
runner = CliRunner()


@pytest.fixture
def sqlite_engine(var_dir: Path) -> Engine:
    """The service's own configured database (so the CLI and the start page see the same)."""
    return get_engine()


def send(engine: Engine, settings: Settings, library: ContentLibrary) -> None:
    run_worker(settings, stop_event=threading.Event(), once=True, engine=engine, library=library)


def two_quarters(engine: Engine, library: ContentLibrary, clock: FrozenClock) -> Settings:
    """December's test sent (without e-mail: the mailbox canary is not reached); March's missed."""
    settings = get_settings()
    register(
        engine,
        person("Övare", exercise=True, phone="+46701740601"),
        person("Utan nummer", exercise=True),  # nobody can reach them: not reached each time
        person("Invånare", exercise=False, phone="+46701740602"),
    )
    canaries(engine, library)
    raw = quarterly_notice(channels=["sms", "web"])
    schedule(
        engine, library, settings, "kvartalsprov", now=clock.now(), raw=raw, rule="vma-quarterly"
    )
    clock.set(DECEMBER + timedelta(minutes=12))  # back twelve minutes late: within the grace
    assert [v.status for v in fire_due(engine, settings, library, scheduler_id="t")] == ["sent"]
    clock.set(DECEMBER + timedelta(minutes=13))
    send(engine, settings, library)
    clock.set(MARCH + timedelta(hours=3))  # down through March's test
    assert [v.status for v in fire_due(engine, settings, library, scheduler_id="t")] == ["missed"]
    return settings


def test_a_test_report_has_the_timeline_figures_canaries_and_trend(
    sqlite_engine: Engine, library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    settings = two_quarters(sqlite_engine, library, frozen_clock)
    with session_scope(sqlite_engine) as session:
        sent, missed = session.scalars(
            sa.select(FiringRecord).order_by(FiringRecord.fire_time)
        ).all()
        report = broadcast_report(session, library, settings, firing=sent)
        gone = broadcast_report(session, library, settings, firing=missed)
        trend = quarterly_trend(session, settings.timezone)

    assert report.late and report.late_seconds == 12 * 60
    events = [(e.kind, e.detail) for e in report.timeline]
    assert events[0] == ("scheduled", "test")
    assert {("fire_time", ""), ("handled", "sent"), ("published", report.code)} <= set(events)
    assert {("first", "sms"), ("last", "sms"), ("approval", "")} <= set(events)
    kinds = [k for k, _ in events]
    assert kinds.index("fire_time") < kinds.index("published") < kinds.index("first")
    sms = report.figures.channels["sms"]
    assert (sms.total, sms.reached, sms.failed) == (1, 1, 0)
    assert sms.median is not None and 0 <= sms.median <= 60
    assert report.figures.unreachable == 1  # "Utan nummer"
    assert report.canary_alerts == [
        (
            "Funktionsbrevlåda (email)",
            "canary not sent: the notice does not use the email channel, so this test does not "
            "prove it",
        )
    ]
    assert [(m.name, m.missed, m.tests) for m in report.recent_misses] == [
        ("test recipient: Funktionsbrevlåda", 1, 1),
        ("Utan nummer", 1, 1),
    ]
    assert report.readability and all(r.passed for r in report.readability)
    assert {r.language for r in report.readability} == {"sv", "en"}

    assert gone.status == "missed" and gone.code is None
    assert "beyond the grace time" in (gone.reason or "")
    assert [(q.quarter, q.tests, q.missed, q.late) for q in trend] == [
        ("2026 Q4", 1, 0, 1),
        ("2027 Q1", 0, 1, 0),
    ]
    assert trend[0].canaries == 2 and trend[0].canaries_reached == 1

    html = broadcast_html(report, trend, settings)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 3
    assert 'Testmottagaren Funktionsbrevlåda (email) nåddes inte: <span lang="en">canary' in html
    assert "publicerad som " + str(report.code) in html
    assert "Provet skickades 12 min sent." in html
    with chromium() as browser:
        violations = axe_violations(browser, html=html)
    assert violations == [], describe(violations)

    rows = list(
        csv.reader(io.StringIO(broadcast_csv(report, settings).decode("utf-8-sig")), delimiter=";")
    )
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[CSV_COLUMNS.index("channel")] for r in rows[1:]] == ["none", "sms"]
    missed_rows = list(
        csv.reader(io.StringIO(broadcast_csv(gone, settings).decode("utf-8-sig")), delimiter=";")
    )
    assert missed_rows[1][CSV_COLUMNS.index("status")] == "missed"

    pdf = html_to_pdf(html, title="Rapport")
    path = Path(get_settings().var_dir) / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert re.search(r"^Title:\s+Rapport$", info, re.M)


def test_the_start_page_warns_when_the_latest_test_missed_a_canary_or_was_missed(
    sqlite_engine: Engine, library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    client = TestClient(web_app)  # no lifespan: no in-process worker or scheduler
    assert 'role="alert"' not in client.get("/").text
    two_quarters(sqlite_engine, library, frozen_clock)
    page = client.get("/").text
    # The latest scheduled test (March) was missed: that is what the page says first.
    assert (
        'role="alert"' in page
        and "Provsändningen kvartalsprov 2027-03-01 15.00 skickades inte" in page
    )
    link = re.search(r'href="(/exercises/reports/firings/\d+)"', page)
    assert link, "the alert links to the report page"
    assert client.get(link.group(1), follow_redirects=False).status_code == 401  # staff only


def test_the_report_commands_and_the_calendar(
    sqlite_engine: Engine, library: ContentLibrary, frozen_clock: FrozenClock, tmp_path: Path
) -> None:
    two_quarters(sqlite_engine, library, frozen_clock)
    shown = runner.invoke(app, ["reports", "show", "kvartalsprov"])
    assert shown.exit_code == 0, shown.output
    assert "missed" in shown.output  # the latest firing of the schedule
    with session_scope(sqlite_engine) as session:
        code = session.scalar(sa.text("select code from notices"))
    detail = runner.invoke(app, ["reports", "show", code])
    assert "sms: reached 1 of 1 (100.0 %)" in detail.output and "canaries 1 of 2" in detail.output
    for form in ("csv", "html", "pdf"):
        out = tmp_path / f"report.{form}"
        result = runner.invoke(
            app, ["reports", "export", code, "--format", form, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 300
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    unknown = runner.invoke(app, ["reports", "show", "NOPE99"])
    assert unknown.exit_code == 2 and "no notice has the code 'NOPE99'" in unknown.output

    ics = runner.invoke(app, ["calendar", "export", "--months", "12"])
    assert ics.exit_code == 0, ics.output
    calendar = icalendar.Calendar.from_ical(ics.stdout_bytes)
    events = list(calendar.walk("VEVENT"))
    # From 1 March 2027 18:00 (the frozen clock): June, September and December 2027.
    starts = [e.decoded("dtstart") for e in events]
    assert [s.isoformat() for s in starts] == [
        "2027-06-07T15:00:00+02:00",
        "2027-09-06T15:00:00+02:00",
        "2027-12-06T15:00:00+01:00",
    ]
    assert all(str(s.tzinfo) == "Europe/Stockholm" for s in starts)
    assert len({str(e["uid"]) for e in events}) == 3
    assert str(events[0]["summary"]) == "Provsändning: kvartalsprov"
    assert calendar.walk("VTIMEZONE")


def test_an_exercise_report_covers_every_inject(
    sqlite_engine: Engine, library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    settings = get_settings()
    register(
        sqlite_engine, person("Carl", exercise=True, phone="+46701740607", audiences=["care-staff"])
    )
    canaries(sqlite_engine, library)
    start = frozen_clock.now()
    with session_scope(sqlite_engine) as session:
        run_id = start_run(
            session, load_script("county-exercise-day", library), settings, speed=60, actor="t"
        ).id
    for minutes in (0, 0.5, 2, 3):  # T+0, T+30 min, T+2 h, T+3 h at sixty times the speed
        frozen_clock.set(start + timedelta(minutes=minutes, seconds=1))
        assert [v.status for v in fire_due(sqlite_engine, settings, library, scheduler_id="t")] == [
            "sent"
        ]
        send(sqlite_engine, settings, library)
    with session_scope(sqlite_engine) as session:
        run = session.get(ExerciseRunRecord, run_id)
        assert run is not None and run.status == "done"
        report = exercise_report(session, library, settings, run)
    assert [i.inject_key for i, _ in report.injects] == [
        "power-cut",
        "update",
        "disinformation",
        "all-clear",
    ]
    assert all(r is not None and r.status == "sent" and r.code for _, r in report.injects)
    # Carl and the two canaries for each of the four injects (the disinformation notice too).
    assert report.figures.channels["sms"].reached == 4
    assert sum(c.reached for c in report.figures.canaries) == 8
    html = exercise_html(report, settings)
    assert "Rapport: övning" in html and html.count("<h2>Inspel ") == 4
    rows = list(
        csv.reader(io.StringIO(exercise_csv(report, settings).decode("utf-8-sig")), delimiter=";")
    )
    assert [r[CSV_COLUMNS.index("inject")] for r in rows[1:]] == [
        "power-cut",
        "update",
        "disinformation",
        "all-clear",
    ]


def test_the_calendar_lists_quarterly_tests_and_one_off_injects(
    sqlite_engine: Engine, library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    settings = get_settings()
    schedule(
        sqlite_engine,
        library,
        settings,
        "kvartalsprov",
        now=frozen_clock.now(),
        rule="vma-quarterly",
    )
    schedule(
        sqlite_engine,
        library,
        settings,
        "extra",
        now=frozen_clock.now(),
        run_at=DECEMBER + timedelta(days=2),
    )
    with session_scope(sqlite_engine) as session:
        data = calendar_ics(session, settings, months=12, now=frozen_clock.now())
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert [e.decoded("dtstart").isoformat() for e in events] == [
        "2026-12-07T15:00:00+01:00",
        "2026-12-09T15:00:00+01:00",
        "2027-03-01T15:00:00+01:00",
        "2027-06-07T15:00:00+02:00",
        "2027-09-06T15:00:00+02:00",
    ]
