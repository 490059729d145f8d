"""`klarvarsel reports show/export` and `klarvarsel calendar export`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.config import get_settings
from service.exercises.cli import migrated
from service.notices.cli_input import fail_input

reports_app = typer.Typer(help="Reports of test broadcasts and exercises.", no_args_is_help=True)
calendar_app = typer.Typer(help="A calendar of upcoming tests.", no_args_is_help=True)


class Format(StrEnum):
    """Export formats."""

    csv = "csv"
    pdf = "pdf"
    html = "html"


Target = Annotated[
    str | None,
    typer.Argument(help="a notice code, or a schedule (id or name: its latest firing)"),
]
ExerciseOption = Annotated[int | None, typer.Option("--exercise", help="an exercise run's id")]


def _build(target: str | None, exercise: int | None) -> tuple[str, bytes, bytes, str]:
    """(title, html, csv, kind) of the report the arguments name; exit 2 if there is none."""
    import sqlalchemy as sa

    from service.content import get_library
    from service.exercises import report_render as render
    from service.exercises.models import ExerciseRunRecord, FiringRecord
    from service.exercises.reports import broadcast_report, exercise_report, quarterly_trend
    from service.exercises.schedules import find_schedule
    from service.notices.publish import find_by_code
    from service.store.database import session_scope

    if (target is None) == (exercise is None):
        raise fail_input("name one report: a notice code or schedule, or --exercise RUN")
    settings, library = get_settings(), get_library()
    migrated()
    with session_scope() as session:
        if exercise is not None:
            run = session.get(ExerciseRunRecord, exercise)
            if run is None:
                raise fail_input(f"no exercise has the id {exercise}")
            built = exercise_report(session, library, settings, run)
            return (
                render.exercise_title(built),
                render.exercise_html(built, settings).encode(),
                render.exercise_csv(built, settings),
                "exercise",
            )
        assert target is not None
        notice = find_by_code(session, target)
        firing = None
        if notice is None:
            schedule = find_schedule(session, target)
            if schedule is None:
                raise fail_input(f"no notice has the code {target!r} and no schedule that name")
            firing = session.scalar(
                sa.select(FiringRecord)
                .where(FiringRecord.schedule_id == schedule.id)
                .order_by(FiringRecord.fire_time.desc())
                .limit(1)
            )
            if firing is None:
                raise fail_input(f"schedule {target!r} has not fired yet")
        report = broadcast_report(session, library, settings, firing=firing, notice=notice)
        trend = quarterly_trend(session, settings.timezone, mode=report.mode)
        return (
            render.broadcast_title(report),
            render.broadcast_html(report, trend, settings).encode(),
            render.broadcast_csv(report, settings),
            "broadcast",
        )


@reports_app.command("show")
def show(target: Target = None, exercise: ExerciseOption = None) -> None:
    """Print a report's figures: per channel reached, time to delivery, canaries."""
    import csv
    import io

    title, _html, data, _kind = _build(target, exercise)
    typer.echo(title)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    for row in rows:
        late = (
            f", {float(row['late_seconds']):.0f} s late"
            if row["late_seconds"] and float(row["late_seconds"]) > 60
            else ""
        )
        label = f"{row['inject']} " if row["inject"] else ""
        head = f"{label}{row['code'] or '-'} {row['status']}{late}"
        if not row["channel"]:
            typer.echo(f"  {head}" + (f": {row['reason']}" if row["reason"] else ""))
            continue
        typer.echo(
            f"  {head} {row['channel']}: reached {row['reached']} of {row['total']} "
            f"({row['reached_percent'] or '-'} %), median {row['median_seconds'] or '-'} s, "
            f"canaries {row['canaries_reached']} of {row['canaries']}"
        )


@reports_app.command("export")
def export(
    target: Target = None,
    exercise: ExerciseOption = None,
    format_: Annotated[Format, typer.Option("--format", help="csv, pdf or html")] = Format.html,
    out: Annotated[
        Path | None, typer.Option(help="file to write (default: standard output)")
    ] = None,
) -> None:
    """Write a report as HTML (SVG charts), CSV (Excel) or tagged PDF."""
    from service.exercises.report_render import html_to_pdf

    title, html, data, _kind = _build(target, exercise)
    if format_ == Format.pdf:
        data = html_to_pdf(html.decode(), title=title)
    elif format_ == Format.html:
        data = html
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise fail_input(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {title} to {out}", err=True)


@calendar_app.command("export")
def calendar_export(
    months: Annotated[int, typer.Option(help="how far ahead, in months (1-36)")] = 12,
) -> None:
    """Print an .ics calendar of upcoming tests and injects (`calendar export > tests.ics`)."""
    from service.exercises.calendar import calendar_ics
    from service.store.database import session_scope

    if not 1 <= months <= 36:
        raise fail_input("--months: must be 1-36")
    migrated()
    with session_scope() as session:
        data = calendar_ics(session, get_settings(), months=months)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
