"""`klarvarsel recipients`: import, export, show (GDPR access) and forget (GDPR erasure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.config import get_settings

recipients_app = typer.Typer(
    help="The recipient register: CSV import and export, GDPR access and erasure.",
    no_args_is_help=True,
)

EXIT_INVALID_INPUT = 2
Actor = Annotated[str, typer.Option(help="who is acting (for the audit log)")]


def _migrate() -> None:
    from service.store.migrate import upgrade

    upgrade(get_settings().effective_database_url)


@recipients_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="recipients CSV (Excel: 'CSV UTF-8')")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="write; without it, a dry run")
    ] = False,
    actor: Actor = "cli",
) -> None:
    """Import a CSV: a dry run unless --confirm; nothing is imported while any row is bad."""
    from service.content import get_library
    from service.recipients.areas import load_areas
    from service.recipients.csv_import import read_recipients
    from service.recipients.register import import_recipients
    from service.store.database import session_scope

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    library = get_library()
    areas = load_areas(get_settings().areas_file)
    result = read_recipients(data, library.languages, library.audiences, areas)
    _migrate()
    with session_scope() as session:
        report = import_recipients(session, result, confirm=confirm, actor=actor)
    for line in report.lines():
        typer.echo(line)
    if report.errors:
        raise typer.Exit(EXIT_INVALID_INPUT)


@recipients_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    actor: Actor = "cli",
) -> None:
    """Write the whole register as CSV for Excel (UTF-8 with BOM, `;`); import reads it back."""
    import sqlalchemy as sa

    from service.recipients.models import RecipientRecord
    from service.recipients.register import export_recipients
    from service.store.database import session_scope

    _migrate()
    try:
        # Written inside the transaction, so a file that cannot be written leaves no audit event.
        with session_scope() as session:
            rows = session.scalar(sa.select(sa.func.count()).select_from(RecipientRecord))
            out.write_bytes(export_recipients(session, actor=actor))
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(f"wrote {out}: {rows} recipients")


@recipients_app.command("show")
def show_command(
    recipient_id: Annotated[int, typer.Argument(help="the recipient's id")],
    actor: Actor = "cli",
) -> None:
    """Print everything held about one person as JSON (GDPR access)."""
    from service.recipients.register import RecipientNotFound, export_person
    from service.store.database import session_scope

    _migrate()
    try:
        with session_scope() as session:
            person = export_person(session, recipient_id, actor=actor)
    except RecipientNotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(json.dumps(person, ensure_ascii=False, indent=2))


@recipients_app.command("forget")
def forget_command(
    recipient_id: Annotated[int, typer.Argument(help="the recipient's id")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    actor: Actor = "cli",
) -> None:
    """Delete a person for good (GDPR erasure); past deliveries keep a pseudonymous record."""
    from service.recipients.register import RecipientNotFound, forget_person
    from service.store.database import session_scope

    _migrate()
    if not yes:
        typer.confirm(f"Delete recipient {recipient_id} for good?", abort=True)
    try:
        with session_scope() as session:
            kept = forget_person(session, recipient_id, actor=actor)
    except RecipientNotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(f"recipient {recipient_id} deleted; {kept} past deliveries kept without address")
