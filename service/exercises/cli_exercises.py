"""`klarvarsel exercises`: run a script in real time or compressed; pause, resume, move, cancel."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from service.config import get_settings
from service.exercises.cli import Actor, fail_all, local, migrated, parse_time
from service.notices.cli_input import fail_input

exercises_app = typer.Typer(help="Scripted exercises.", no_args_is_help=True)
WAIT_POLL_SECONDS = 0.2


@exercises_app.command("scripts")
def scripts() -> None:
    """The example scripts that ship with the service."""
    from service.content import get_library
    from service.exercises.scripts import ScriptInvalid, load_script, shipped_scripts

    for name in shipped_scripts():
        try:
            script = load_script(name, get_library())
        except ScriptInvalid as exc:
            typer.echo(f"{name}\tINVALID: {exc}")
            continue
        span = script.injects[-1].offset
        typer.echo(f"{name}\t{len(script.injects)} injects over {span}\t{script.title}")


@exercises_app.command("run")
def run(
    script: Annotated[str, typer.Argument(help="a shipped script's id, or a script folder")],
    speed: Annotated[float, typer.Option(help="1 is real time; 10 or 60 compress it")] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="T+0, ISO 8601 with offset (default now)")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="run a scheduler here until every inject is handled")
    ] = False,
    actor: Actor = "cli",
) -> None:
    """Schedule every inject of a script; the scheduler sends each at T+0 + offset / speed."""
    from service.content import get_library
    from service.exercises.runs import RunInvalid, injects_of, start_run
    from service.exercises.scripts import ScriptInvalid, load_script
    from service.store.database import session_scope

    library = get_library()
    try:
        loaded = load_script(script, library)
    except ScriptInvalid as exc:
        raise fail_all(
            f"the script {script!r} cannot be run; nothing was scheduled", exc.problems
        ) from None
    start_at = parse_time(start, "--start") if start else None
    migrated()
    try:
        with session_scope() as session:
            record = start_run(
                session, loaded, get_settings(), start_at=start_at, speed=speed, actor=actor
            )
            run_id = record.id
            typer.echo(f"exercise {run_id}: {loaded.title} (speed x{speed:g})")
            for inject in injects_of(session, run_id):
                typer.echo(f"  {local(inject.run_at)}\t{inject.inject_key}")
    except RunInvalid as exc:
        raise fail_input(f"{exc}; nothing was scheduled") from None
    if wait:
        _wait_for(run_id)


def _wait_for(run_id: int) -> None:
    """Run a scheduler in this process (standing by if another is active) until the run ends."""
    from service.exercises.models import ExerciseRunRecord, RunStatus
    from service.exercises.scheduler import SchedulerService
    from service.store.database import session_scope

    service = SchedulerService(get_settings())
    service.start()
    try:
        while True:
            with session_scope() as session:
                run = session.get(ExerciseRunRecord, run_id)
                status = run.status if run else RunStatus.cancelled.value
            if status in (RunStatus.done.value, RunStatus.cancelled.value):
                break
            time.sleep(WAIT_POLL_SECONDS)
    finally:
        service.stop()
    _show(run_id)


def _show(run_id: int) -> None:
    from service.exercises.models import ExerciseRunRecord
    from service.exercises.reports_data import inject_outcomes
    from service.store.database import session_scope

    with session_scope() as session:
        run = session.get(ExerciseRunRecord, run_id)
        if run is None:
            raise fail_input(f"no exercise has the id {run_id}")
        typer.echo(f"exercise {run.id} {run.script}: {run.status}, T+0 {local(run.start_at)}")
        for inject, firing, code in inject_outcomes(session, run.id):
            outcome = firing.status if firing else inject.status
            late = (
                f" {firing.late_seconds:.0f} s late" if firing and firing.late_seconds > 60 else ""
            )
            typer.echo(
                f"  {inject.inject_key}\t{local(inject.run_at)}\t{outcome}{late}\t{code or '-'}"
                + (f"\t{firing.reason}" if firing and firing.reason else "")
            )


@exercises_app.command("list")
def list_command() -> None:
    """Exercise runs, newest first."""
    from service.exercises.runs import list_runs
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        runs = list_runs(session)
        for run in runs:
            typer.echo(
                f"{run.id}\t{run.script}\t{run.status}\tT+0 {local(run.start_at)}\tx{run.speed:g}"
            )
    if not runs:
        typer.echo("no exercises")


@exercises_app.command("show")
def show(run_id: int) -> None:
    """One run's injects: when, and what became of each."""
    migrated()
    _show(run_id)


def _change(run_id: int, action: str, actor: str, **options: object) -> None:
    from service.exercises import runs
    from service.exercises.models import ExerciseRunRecord
    from service.store.database import session_scope

    migrated()
    try:
        with session_scope() as session:
            run = session.get(ExerciseRunRecord, run_id)
            if run is None:
                raise fail_input(f"no exercise has the id {run_id}")
            if action == "pause":
                changed = runs.pause_run(session, run, actor=actor)
            elif action == "resume":
                changed = runs.resume_run(session, run, actor=actor)
            elif action == "cancel":
                changed = runs.cancel_run(session, run, actor=actor)
            else:
                runs.move_run(session, run, actor=actor, **options)  # type: ignore[arg-type]
                changed = True
            status = run.status
    except runs.RunInvalid as exc:
        raise fail_input(f"exercise {run_id} was not changed: {exc}") from None
    if not changed:
        raise fail_input(f"exercise {run_id} is {status}; nothing to {action}")
    _show(run_id)


@exercises_app.command("pause")
def pause(run_id: int, actor: Actor = "cli") -> None:
    """Hold every inject not yet sent."""
    _change(run_id, "pause", actor)


@exercises_app.command("resume")
def resume(run_id: int, actor: Actor = "cli") -> None:
    """Continue: the injects not yet sent move on by the time spent paused."""
    _change(run_id, "resume", actor)


@exercises_app.command("move")
def move(
    run_id: int,
    to: Annotated[str | None, typer.Option(help="new T+0, ISO 8601 with offset")] = None,
    by: Annotated[str | None, typer.Option(help="shift, e.g. +15m or -1h")] = None,
    actor: Actor = "cli",
) -> None:
    """Move the whole exercise, keeping the gaps between injects."""
    from service.exercises.scripts import parse_duration

    shift = None
    if by is not None:
        try:
            shift = parse_duration(by, signed=True)
        except ValueError as exc:
            raise fail_input(f"--by: {exc}") from None
    new_start = parse_time(to, "--to") if to else None
    _change(run_id, "move", actor, to=new_start, by=shift)


@exercises_app.command("cancel")
def cancel(run_id: int, actor: Actor = "cli") -> None:
    """Stop the exercise: no further inject is sent."""
    _change(run_id, "cancel", actor)
