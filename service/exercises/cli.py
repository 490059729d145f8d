"""`klarvarsel schedules`, `canaries` and `scheduler`; mounts `exercises`, `reports`, `calendar`.

Exit codes as elsewhere: 0 done, 1 failed checks, 2 bad input (every problem named).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from service.config import get_settings
from service.notices.cli_input import EXIT_FAILED_CHECKS, EXIT_INVALID_INPUT, fail_input

schedules_app = typer.Typer(help="Scheduled test broadcasts.", no_args_is_help=True)
canaries_app = typer.Typer(
    help="Test recipients every test reaches (duty phones, shared mailboxes).",
    no_args_is_help=True,
)
Actor = Annotated[str, typer.Option(help="who is acting (for the audit log)")]
MAX_COUNT = 1000


def fail_all(title: str, problems: list[str]) -> typer.Exit:
    """Print every problem under a title; the exit (code 2) to raise."""
    typer.echo(f"error: {title}:", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with offset from the command line; exit 2 otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail_input(
            f"{option}: {text!r} is not a time like 2027-03-01T15:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        raise fail_input(f"{option}: {text!r} needs an offset, e.g. +01:00")
    return moment


def local(moment: datetime | None) -> str:
    """A stored time in the service's time zone, ISO 8601 with offset."""
    if moment is None:
        return "-"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(get_settings().timezone)).isoformat(timespec="seconds")


def migrated() -> None:
    """Bring the database to the newest revision (as the other commands do)."""
    from service.store.migrate import upgrade

    upgrade(get_settings().effective_database_url)


@schedules_app.command("next")
def next_times(
    rule: Annotated[str, typer.Argument(help='vma-quarterly, or a cron rule like "0 15 * * 1"')],
    count: Annotated[int, typer.Option("--count", "-n", help="how many fire times")] = 5,
    after: Annotated[str | None, typer.Option(help="start after this time (default now)")] = None,
) -> None:
    """Print the rule's next fire times, one ISO 8601 time with offset per line."""
    from service.clock import utcnow
    from service.exercises.rules import RuleInvalid, next_fire_times, parse_rule

    problems = [] if 1 <= count <= MAX_COUNT else [f"--count: must be 1-{MAX_COUNT}"]
    start = parse_time(after, "--after") if after else utcnow()
    try:
        parsed = parse_rule(rule, get_settings().timezone)
    except RuleInvalid as exc:
        problems.append(f"RULE: {exc}")
    if problems:
        raise fail_all("cannot compute fire times", problems)
    for moment in next_fire_times(parsed, start, count):
        typer.echo(local(moment))


@schedules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="a name for the schedule")],
    notice: Annotated[Path, typer.Option("--notice", help="the test notice (JSON) to send")],
    rule: Annotated[str | None, typer.Option(help="vma-quarterly or a cron rule")] = None,
    at: Annotated[str | None, typer.Option(help="one time, ISO 8601 with offset")] = None,
    grace: Annotated[
        str | None, typer.Option(help="how late a missed test may still go out (1h, 30m)")
    ] = None,
    allow_failed_checks: Annotated[
        bool, typer.Option("--allow-failed-checks", help="send even if a variant fails a check")
    ] = False,
    actor: Actor = "cli",
) -> None:
    """Add a schedule: the notice must be an exercise or test alert that passes its checks."""
    from service.content import get_library
    from service.exercises.schedules import ChecksFailed, NewSchedule, ScheduleInvalid, add_schedule
    from service.exercises.scripts import parse_duration
    from service.notices.cli_input import read_json
    from service.store.database import session_scope

    raw = read_json(notice)
    grace_seconds = None
    problems = []
    if grace is not None:
        try:
            grace_seconds = int(parse_duration(grace).total_seconds())
        except ValueError as exc:
            problems.append(f"--grace: {exc}")
    run_at = parse_time(at, "--at") if at else None
    migrated()
    settings = get_settings()
    new = NewSchedule(name, raw, rule, run_at, grace_seconds, allow_failed_checks)
    try:
        with session_scope() as session:
            schedule = add_schedule(session, get_library(), settings, new, actor=actor)
            if problems:
                raise ScheduleInvalid([])  # rolls the schedule back; the options were bad
            following = local(schedule.next_fire_at)
            line = f"added schedule {schedule.id} {schedule.name!r}: next {following}"
    except ScheduleInvalid as exc:
        raise fail_all(f"schedule {name!r} was not added", [*problems, *exc.problems]) from None
    except ChecksFailed as exc:
        for failure in exc.failures:
            typer.echo(f"FAILED CHECK {failure}")
        typer.echo("not added: fix the failed checks or pass --allow-failed-checks")
        raise typer.Exit(EXIT_FAILED_CHECKS) from None
    typer.echo(line)


@schedules_app.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="finished and removed ones too")] = False,
) -> None:
    """Schedules in the order they next fire, with their last firing."""
    from service.exercises.reports_data import last_firings
    from service.exercises.schedules import list_schedules
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        schedules = list_schedules(session, include_finished=all_)
        last = last_firings(session, [s.id for s in schedules])
        for s in schedules:
            when = s.rule if s.rule else f"at {local(s.run_at)}"
            firing = last.get(s.id)
            previous = (
                f"last {firing.status} {local(firing.fire_time)}" if firing else "never fired"
            )
            typer.echo(
                f"{s.id}\t{s.name}\t{s.status}\t{when}\tnext {local(s.next_fire_at)}\t{previous}"
            )
    if not schedules:
        typer.echo("no schedules")


def _change(ref: str, action: str, actor: str) -> None:
    from service.exercises import schedules as service
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        schedule = service.find_schedule(session, ref)
        if schedule is None:
            raise fail_input(f"no schedule has the id or name {ref!r}")
        if action == "pause":
            changed = service.pause_schedule(session, schedule, actor=actor)
        elif action == "resume":
            changed = service.resume_schedule(session, schedule, get_settings(), actor=actor)
        else:
            changed = service.remove_schedule(session, schedule, actor=actor)
        state, following = schedule.status, local(schedule.next_fire_at)
    if not changed:
        raise fail_input(f"schedule {ref!r} is {state}; nothing to {action}")
    typer.echo(
        f"schedule {ref!r} is {state}" + (f"; next {following}" if state == "active" else "")
    )


@schedules_app.command("pause")
def pause(ref: Annotated[str, typer.Argument(help="id or name")], actor: Actor = "cli") -> None:
    """Stop a schedule firing until it is resumed."""
    _change(ref, "pause", actor)


@schedules_app.command("resume")
def resume(ref: Annotated[str, typer.Argument(help="id or name")], actor: Actor = "cli") -> None:
    """Fire again (a rule skips the times that passed while it was paused)."""
    _change(ref, "resume", actor)


@schedules_app.command("remove")
def remove(ref: Annotated[str, typer.Argument(help="id or name")], actor: Actor = "cli") -> None:
    """Stop a schedule for good (its firings stay for the reports)."""
    _change(ref, "remove", actor)


@schedules_app.command("firings")
def firings(
    ref: Annotated[str, typer.Argument(help="id or name")],
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
) -> None:
    """What became of a schedule's fire times: sent (late?), missed or failed, with reasons."""
    from service.exercises.reports_data import firings_of
    from service.exercises.schedules import find_schedule
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        schedule = find_schedule(session, ref)
        if schedule is None:
            raise fail_input(f"no schedule has the id or name {ref!r}")
        for firing, code in firings_of(session, schedule.id, limit=max(1, min(limit, 1000))):
            late = f" {firing.late_seconds:.0f} s late" if firing.late_seconds > 60 else ""
            typer.echo(
                f"{local(firing.fire_time)}\t{firing.status}{late}\t{code or '-'}\t"
                f"{firing.reason or ''}".rstrip()
            )


@canaries_app.command("add")
def canary_add(
    channel: Annotated[str, typer.Option(help="sms or email")],
    address: Annotated[str, typer.Option(help="phone number or e-mail address")],
    label: Annotated[str, typer.Option(help="whose it is, e.g. Jourtelefon krisledning")],
    language: Annotated[str, typer.Option(help="the language it reads")] = "sv",
    actor: Actor = "cli",
) -> None:
    """Add a test recipient that every exercise and test notice reaches on its channel."""
    from service.content import get_library
    from service.exercises.canaries import CanaryInvalid, add_canary
    from service.store.database import session_scope

    migrated()
    try:
        with session_scope() as session:
            canary = add_canary(
                session,
                get_library(),
                channel=channel,
                address=address,
                label=label,
                language=language,
                actor=actor,
            )
            line = f"added canary {canary.id}: {canary.label} ({canary.channel})"
    except CanaryInvalid as exc:
        raise fail_all("the canary was not added", exc.problems) from None
    typer.echo(line)


@canaries_app.command("list")
def canary_list() -> None:
    """Active canaries: id, channel, address, language, label."""
    from service.exercises.canaries import list_canaries
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        rows = list_canaries(session)
        for c in rows:
            typer.echo(f"{c.id}\t{c.channel}\t{c.address}\t{c.language}\t{c.label}")
    if not rows:
        typer.echo("no canaries: add a duty phone and a shared mailbox (klarvarsel canaries add)")


@canaries_app.command("remove")
def canary_remove(canary_id: int, actor: Actor = "cli") -> None:
    """Stop reaching a canary (kept, so past reports still name it)."""
    from service.exercises.canaries import remove_canary
    from service.store.database import session_scope

    migrated()
    with session_scope() as session:
        removed = remove_canary(session, canary_id, actor=actor)
    if removed is None:
        raise fail_input(f"no active canary has the id {canary_id}")
    typer.echo(f"removed canary {canary_id}")


def mount(app: typer.Typer) -> None:
    """Add the exercise commands to the `klarvarsel` command."""
    from service.exercises.cli_exercises import exercises_app
    from service.exercises.cli_reports import calendar_app, reports_app
    from service.exercises.scheduler_cli import scheduler

    app.add_typer(schedules_app, name="schedules")
    app.add_typer(exercises_app, name="exercises")
    app.add_typer(canaries_app, name="canaries")
    app.add_typer(reports_app, name="reports")
    app.add_typer(calendar_app, name="calendar")
    app.command()(scheduler)
