"""One active scheduler per database: the lock on PostgreSQL (per schema) and on SQLite (a file)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from service.cli import app
from service.config import Settings
from service.exercises.leadership import Leadership
from service.exercises.scheduler import SchedulerService
from service.store.database import make_engine
from service.store.migrate import downgrade, upgrade

runner = CliRunner()


def test_only_one_holds_the_lock_until_it_lets_go(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    other_engine = make_engine(database_url)
    first, second = Leadership(engine, settings), Leadership(other_engine, settings)
    try:
        assert first.acquire() and first.check()
        assert not second.acquire() and not second.held
        first.release()
        assert second.acquire() and second.check()
        assert not first.acquire()
    finally:
        first.release()
        second.release()
        other_engine.dispose()


def test_schedulers_on_two_schemas_do_not_block_each_other(
    postgres_server: str, postgres_url: str, settings: Settings
) -> None:
    other_schema = f"{postgres_url.rsplit('%3D', 1)[1]}_b"
    admin = sa.create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{other_schema}"'))
    one = make_engine(postgres_url)
    two = make_engine(f"{postgres_server}?options=-csearch_path%3D{other_schema}")
    try:
        a, b = Leadership(one, settings), Leadership(two, settings)
        assert a.acquire() and b.acquire()
        a.release()
        b.release()
    finally:
        one.dispose()
        two.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{other_schema}" CASCADE'))
        admin.dispose()


def test_a_second_scheduler_service_stands_by(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    first = SchedulerService(settings, engine=engine)
    second = SchedulerService(settings, engine=make_engine(database_url))
    first.start()
    second.start()
    try:
        assert first.active.is_set() and not second.active.is_set()
        first.stop()
        second.keep_leadership()  # what its leadership job does every retry interval
        assert second.active.is_set()
    finally:
        second.stop()
        second.engine.dispose()


def test_the_migration_adds_and_removes_the_exercise_tables(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    tables = {"schedules", "schedule_firings", "canaries", "exercise_runs"}
    assert tables <= set(sa.inspect(engine).get_table_names())
    downgrade(database_url, "0004")
    assert not tables & set(sa.inspect(engine).get_table_names())
    upgrade(database_url)
    engine.dispose()


def test_the_schedule_commands(var_dir: Path) -> None:
    notice = "demo/exercises/quarterly_test.json"
    added = runner.invoke(
        app, ["schedules", "add", "kvartalsprov", "--notice", notice, "--rule", "vma-quarterly"]
    )
    assert added.exit_code == 0, added.output
    assert "added schedule 1 'kvartalsprov': next 2026-12-07T15:00:00+01:00" in added.output
    bad = runner.invoke(
        app,
        [
            "schedules",
            "add",
            "kvartalsprov",
            "--notice",
            notice,
            "--rule",
            "sometimes",
            "--grace",
            "soon",
        ],
    )
    assert bad.exit_code == 2
    for problem in (
        "--grace: 'soon' is not a duration",
        "name: schedule 1 is already called",
        "rule: unknown rule 'sometimes'",
    ):
        assert problem in bad.output, bad.output
    listed = runner.invoke(app, ["schedules", "list"])
    assert (
        "kvartalsprov\tactive\tvma-quarterly\tnext 2026-12-07T15:00:00+01:00\tnever fired"
        in listed.output
    )
    assert runner.invoke(app, ["schedules", "pause", "kvartalsprov"]).exit_code == 0
    assert runner.invoke(app, ["schedules", "pause", "kvartalsprov"]).exit_code == 2
    resumed = runner.invoke(app, ["schedules", "resume", "1"])
    assert resumed.exit_code == 0 and "next 2026-12-07T15:00:00+01:00" in resumed.output
    assert runner.invoke(app, ["schedules", "remove", "kvartalsprov"]).exit_code == 0
    assert "no schedules" in runner.invoke(app, ["schedules", "list"]).output
    assert runner.invoke(app, ["schedules", "firings", "nope"]).exit_code == 2
    canary = runner.invoke(
        app,
        ["canaries", "add", "--channel", "sms", "--address", "070-174 06 99", "--label", "Jour"],
    )
    assert canary.exit_code == 0 and "added canary 1: Jour (sms)" in canary.output
    wrong = runner.invoke(
        app, ["canaries", "add", "--channel", "fax", "--address", "x", "--label", ""]
    )
    assert wrong.exit_code == 2
    assert (
        "channel: 'fax' is not one of sms, email" in wrong.output
        and "label: is empty" in wrong.output
    )
    assert "+46701740699\tsv\tJour" in runner.invoke(app, ["canaries", "list"]).output
    assert runner.invoke(app, ["canaries", "remove", "1"]).exit_code == 0
    assert runner.invoke(app, ["canaries", "remove", "1"]).exit_code == 2


def test_an_actual_alert_cannot_be_scheduled_from_the_command_line(var_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "schedules",
            "add",
            "fel",
            "--notice",
            "demo/notices/care_home_power_cut.json",
            "--at",
            "2027-01-01T10:00:00+01:00",
        ],
    )
    assert result.exit_code == 2
    assert "notice.mode: is 'actual'" in result.output
