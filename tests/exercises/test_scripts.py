"""Scripted exercises: the shipped county exercise day, compressed runs, pause, resume, move."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from service.cli import app
from service.clock import FrozenClock, utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.exercises.firing import fire_due
from service.exercises.models import ExerciseRunRecord, FiringRecord, ScheduleRecord
from service.exercises.runs import (
    RunInvalid,
    cancel_run,
    injects_of,
    move_run,
    pause_run,
    resume_run,
    start_run,
)
from service.exercises.scheduler import SchedulerService
from service.exercises.scripts import ScriptInvalid, load_script, parse_duration
from service.notices.models import NoticeRecord
from service.store.database import session_scope
from tests.exercises.conftest import make_settings, person, register

SCRIPT = "county-exercise-day"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
runner = CliRunner()


def utc(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def inject_times(engine: Engine, run_id: int) -> dict[str, datetime]:
    with session_scope(engine) as session:
        return {str(i.inject_key): utc(i.run_at) for i in injects_of(session, run_id)}


def test_the_shipped_county_exercise_day_follows_the_seed_scenario(library: ContentLibrary) -> None:
    script = load_script(SCRIPT, library)
    assert [(i.key, i.offset) for i in script.injects] == [
        ("power-cut", timedelta(0)),
        ("update", timedelta(minutes=30)),
        ("disinformation", timedelta(hours=2)),
        ("all-clear", timedelta(hours=3)),
    ]
    assert [i.raw["scenario"] for i in script.injects] == [
        "care_home_disruption",
        "care_home_disruption",
        "disinformation",
        "care_home_disruption",
    ]
    assert {i.raw["mode"] for i in script.injects} == {"exercise"}
    assert [i.follows for i in script.injects] == [None, "power-cut", None, "power-cut"]
    assert script.injects[0].raw["fields"]["cause"] == "power_cut"
    assert script.injects[2].raw["fields"]["threats_against_staff"] is True


def test_a_bad_script_names_every_problem(tmp_path: Path, library: ContentLibrary) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    actual = json.loads((Path("demo/notices/care_home_power_cut.json")).read_text("utf-8"))
    (folder / "actual.json").write_text(json.dumps(actual), "utf-8")
    update = dict(actual, mode="exercise", message_type="update", references="@nothing")
    (folder / "update.json").write_text(json.dumps(update), "utf-8")
    (folder / "script.toml").write_text(
        """id = "bad"
title = "Bad"
nominal_start = "2027-03-10T09:00:00"
[[injects]]
key = "Första"
at = "1h"
notice = "actual.json"
[[injects]]
key = "second"
at = "30m"
notice = "update.json"
[[injects]]
key = "third"
at = "soon"
notice = "../outside.json"
""",
        "utf-8",
    )
    with pytest.raises(ScriptInvalid) as caught:
        load_script(str(folder), library)
    problems = "\n".join(caught.value.problems)
    assert "nominal_start: needs an offset" in problems
    assert "injects.0.key: use 1-40 lower-case letters" in problems
    assert "injects.0 (actual.json): mode: is 'actual'" in problems
    assert "injects.1.at: comes before an earlier inject" in problems
    assert "injects.1 (update.json): references: no earlier inject 'nothing'" in problems
    assert "injects.2.at: 'soon' is not a duration" in problems
    assert "injects.2.notice: give a file name in the script's folder" in problems


def test_durations() -> None:
    assert parse_duration("0m") == timedelta(0)
    assert parse_duration("T+30m") == timedelta(minutes=30)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("-15m", signed=True) == timedelta(minutes=-15)
    with pytest.raises(ValueError, match="has no sign"):
        parse_duration("-15m")


def test_a_compressed_script_runs_all_its_injects_in_order(
    database_url: str, engine: Engine, library: ContentLibrary, tmp_path: Path
) -> None:
    register(engine, person("Carl", exercise=True, phone="+46701740607", audiences=["care-staff"]))
    settings = make_settings(tmp_path, database_url, scheduler_tick_seconds=0.05)
    script = load_script(SCRIPT, library)
    with session_scope(engine) as session:
        run = start_run(session, script, settings, speed=3600, actor="test")  # 3 h in 3 s
        run_id, start = run.id, utc(run.start_at)
    times = inject_times(engine, run_id)
    assert times == {
        "power-cut": start,
        "update": start + timedelta(seconds=0.5),
        "disinformation": start + timedelta(seconds=2),
        "all-clear": start + timedelta(seconds=3),
    }
    service = SchedulerService(settings, library=library)
    service.start()
    try:
        deadline = time.monotonic() + 90  # a loaded machine is slow; the run itself takes 3 s
        while True:
            with session_scope(engine) as session:
                status = session.get(ExerciseRunRecord, run_id).status
            if status == "done" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        service.stop()
    assert status == "done"
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(ScheduleRecord.inject_key, FiringRecord, NoticeRecord)
            .join(FiringRecord, FiringRecord.schedule_id == ScheduleRecord.id)
            .join(NoticeRecord, NoticeRecord.id == FiringRecord.notice_id)
            .where(ScheduleRecord.run_id == run_id)
            .order_by(NoticeRecord.id)
        ).all()
        published = [(key, firing.status, notice) for key, firing, notice in rows]
        assert [key for key, _, _ in published] == [
            "power-cut",
            "update",
            "disinformation",
            "all-clear",
        ]
        assert {status for _, status, _ in published} == {"sent"}
        first = published[0][2]
        # The update and the all-clear follow the power cut's notice under its real code.
        assert published[1][2].payload["references"] == first.code
        assert published[3][2].references_id == first.id
        assert {n.mode for _, _, n in published} == {"exercise"}
        # Times inside the notices moved with the run: the power cut started 20 min before T+0.
        started = datetime.fromisoformat(first.payload["fields"]["started_at"])
        assert abs(started - (start - timedelta(minutes=20))) < timedelta(seconds=1)


def test_pause_resume_and_move_keep_the_gaps_between_injects(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    start = frozen_clock.now()
    with session_scope(engine) as session:
        run = start_run(session, load_script(SCRIPT, library), settings, speed=10, actor="t")
        run_id = run.id
    before = inject_times(engine, run_id)
    gaps = {k: v - before["power-cut"] for k, v in before.items()}
    assert gaps["all-clear"] == timedelta(minutes=18)  # 3 h at ten times the speed
    frozen_clock.set(start + timedelta(seconds=1))
    assert [v.status for v in fire_due(engine, settings, library, scheduler_id="t")] == ["sent"]
    with session_scope(engine) as session:
        assert pause_run(session, session.get(ExerciseRunRecord, run_id), actor="t")
    frozen_clock.set(start + timedelta(minutes=30))  # paused for half an hour: nothing fires
    assert fire_due(engine, settings, library, scheduler_id="t") == []
    with session_scope(engine) as session:
        assert resume_run(session, session.get(ExerciseRunRecord, run_id), actor="t")
    resumed = inject_times(engine, run_id)
    paused_for = timedelta(minutes=30) - timedelta(seconds=1)
    assert resumed["power-cut"] == before["power-cut"]  # already sent: stays where it was
    for key in ("update", "disinformation", "all-clear"):
        assert resumed[key] - before[key] == paused_for, key
    with session_scope(engine) as session:
        run = session.get(ExerciseRunRecord, run_id)
        assert run is not None
        move_run(session, run, by=timedelta(minutes=15), actor="t")
    moved = inject_times(engine, run_id)
    assert moved["all-clear"] - moved["update"] == before["all-clear"] - before["update"]
    assert moved["update"] - resumed["update"] == timedelta(minutes=15)
    with (
        pytest.raises(RunInvalid, match="in the past: update, disinformation, all-clear"),
        session_scope(engine) as session,
    ):
        run = session.get(ExerciseRunRecord, run_id)
        assert run is not None
        move_run(session, run, by=timedelta(hours=-2), actor="t")
    with session_scope(engine) as session:
        assert cancel_run(session, session.get(ExerciseRunRecord, run_id), actor="t")
    frozen_clock.set(start + timedelta(hours=2))
    assert fire_due(engine, settings, library, scheduler_id="t") == []


def test_an_update_whose_first_notice_was_missed_is_not_sent(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    start = frozen_clock.now()
    with session_scope(engine) as session:
        run_id = start_run(session, load_script(SCRIPT, library), settings, speed=60, actor="t").id
    # The scheduler was down through T+0 .. T+30 s and comes back two hours later.
    frozen_clock.set(start + timedelta(hours=2))
    views = {
        v.schedule.split()[-1]: v for v in fire_due(engine, settings, library, scheduler_id="t")
    }
    assert views["power-cut"].status == "missed"
    assert views["update"].status == "missed"
    assert views["disinformation"].status == "missed"
    assert views["all-clear"].status == "missed"
    with session_scope(engine) as session:
        assert session.get(ExerciseRunRecord, run_id).status == "done"


def test_the_exercise_commands(var_dir: Path) -> None:
    start = (utcnow() + timedelta(hours=1)).astimezone(STOCKHOLM).isoformat(timespec="seconds")
    result = runner.invoke(app, ["exercises", "run", SCRIPT, "--speed", "60", "--start", start])
    assert result.exit_code == 0, result.output
    assert "exercise 1:" in result.output and result.output.count("\n  ") == 4
    assert runner.invoke(app, ["exercises", "pause", "1"]).exit_code == 0
    again = runner.invoke(app, ["exercises", "pause", "1"])
    assert again.exit_code == 2 and "is paused; nothing to pause" in again.output
    assert runner.invoke(app, ["exercises", "resume", "1"]).exit_code == 0
    moved = runner.invoke(app, ["exercises", "move", "1", "--by", "+15m"])
    assert moved.exit_code == 0, moved.output
    listed = runner.invoke(app, ["exercises", "list"])
    assert "county-exercise-day\tactive" in listed.output
    unknown = runner.invoke(app, ["exercises", "run", "no-such-script"])
    assert unknown.exit_code == 2 and "shipped scripts: county-exercise-day" in unknown.output
    bad = runner.invoke(app, ["exercises", "move", "1", "--by", "soon"])
    assert bad.exit_code == 2 and "--by: 'soon' is not a duration" in bad.output
