"""`klarvarsel cap export|import|validate|feed`: CAP 1.2 and the Atom feeds, from a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from service.content import get_library
from service.notices.cli_input import EXIT_FAILED_CHECKS, EXIT_INVALID_INPUT, fail_input

cap_app = typer.Typer(
    help="CAP 1.2: export notices as alerts, import and validate alerts, print the feeds.",
    no_args_is_help=True,
)


def _read_cap(path: Path) -> bytes:
    """The file's bytes (or stdin for -), refusing more than the CAP size limit unread."""
    from service.interop.safe_xml import MAX_CAP_BYTES

    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(MAX_CAP_BYTES + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_CAP_BYTES + 1)
    except OSError as exc:
        raise fail_input(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_CAP_BYTES:
        raise fail_input(f"{path}: the document is larger than {MAX_CAP_BYTES:,} bytes (1 MiB)")
    return data


def _echo_problems(heading: str, problems: list[Any]) -> None:
    typer.echo(heading, err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)


def _migrated() -> None:
    from service.config import get_settings
    from service.store.migrate import upgrade

    upgrade(get_settings().effective_database_url)


@cap_app.command("export")
def export_command(
    notice: Annotated[str, typer.Argument(help="notice JSON file (- for stdin) or a public code")],
) -> None:
    """Print a notice as one CAP 1.2 alert; checked first, never printed when invalid."""
    from service.config import get_settings
    from service.interop.export import export_record, export_unpublished
    from service.interop.identity import CODE, SenderNotConfigured
    from service.interop.validation import CapInvalid
    from service.notices.cli_input import valid_notice
    from service.notices.publish import find_public
    from service.store.database import session_scope

    library, settings = get_library(), get_settings()
    path = Path(notice)
    is_file = notice == "-" or path.exists()
    if not is_file and not CODE.match(notice.upper()):
        raise fail_input(f"{notice} is neither a notice file nor a published notice's code")
    raw_notice = valid_notice(path) if is_file else None
    _migrated()
    try:
        with session_scope() as session:
            if raw_notice is not None:
                result = export_unpublished(session, *raw_notice, library, settings)
            else:
                record = find_public(session, notice)
                if record is None:
                    raise fail_input(f"no file {notice} and no published notice with that code")
                result = export_record(session, record, library, settings)
    except SenderNotConfigured as exc:
        raise fail_input(str(exc)) from None
    except CapInvalid as exc:
        _echo_problems("error: the CAP alert would not be valid; nothing printed:", exc.problems)
        raise typer.Exit(EXIT_FAILED_CHECKS) from None
    for tag, reason in result.skipped.items():
        typer.echo(f"left out {tag}: {reason}", err=True)
    typer.echo(result.xml.decode("utf-8"))


@cap_app.command("import")
def import_command(
    cap_file: Annotated[Path, typer.Argument(help="CAP 1.2 XML file, or - for stdin")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="map and check; store nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Import a CAP alert as a draft notice mapped to the closest scenario."""
    from service.config import get_settings
    from service.interop.imports import CapConflict, import_cap
    from service.interop.mapping import CapNotImportable
    from service.interop.safe_xml import UnsafeXml
    from service.interop.validation import CapInvalid
    from service.store.database import session_scope

    data = _read_cap(cap_file)
    _migrated()
    try:
        with session_scope() as session:
            result = import_cap(
                session, data, get_library(), get_settings(), actor="cli", source="cli",
                dry_run=dry_run,
            )  # fmt: skip
            record = result.record
            summary = {
                "import_id": record.id,
                "stored": result.stored,
                "repeat": result.repeat,
                "sender": record.sender,
                "identifier": record.identifier,
                "scenario": record.scenario,
                "reason": record.match_reason,
                "references_code": record.references_code,
                "references_import_id": record.references_import_id,
                "notes": record.notes,
                "problems": record.problems,
                "notice": record.notice,
            }
    except UnsafeXml as exc:
        raise fail_input(f"{cap_file} is refused: {exc}") from None
    except CapInvalid as exc:
        _echo_problems(f"error: {cap_file} is not valid CAP 1.2; nothing imported:", exc.problems)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except (CapConflict, CapNotImportable) as exc:
        raise fail_input(f"{cap_file}: {exc}; nothing imported") from None
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    _print_import(summary)


def _print_import(summary: dict[str, Any]) -> None:
    if summary["repeat"]:
        state = f"already imported as #{summary['import_id']}: the same message again"
    elif summary["stored"]:
        state = f"imported as draft #{summary['import_id']}"
    else:
        state = "dry run: nothing stored"
    typer.echo(f"{state} ({summary['sender']} {summary['identifier']})")
    typer.echo(f"scenario {summary['scenario']}: {summary['reason']}")
    follows = summary["references_code"] or (
        f"import #{summary['references_import_id']}" if summary["references_import_id"] else None
    )
    if follows:
        typer.echo(f"follows {follows}")
    for note in summary["notes"]:
        typer.echo(f"NOTE {note}")
    for problem in summary["problems"]:
        typer.echo(f"TO FIX {problem}")


@cap_app.command("validate")
def validate_command(
    cap_file: Annotated[Path, typer.Argument(help="CAP 1.2 XML file, or - for stdin")],
) -> None:
    """Check a CAP alert against the CAP 1.2 XSD and the rules it misses; exit 1 if invalid."""
    from service.interop.safe_xml import UnsafeXml
    from service.interop.validation import check_cap

    try:
        check = check_cap(_read_cap(cap_file))
    except UnsafeXml as exc:
        raise fail_input(f"{cap_file} is refused: {exc}") from None
    if not check.valid:
        _echo_problems(f"{cap_file} is not valid CAP 1.2:", check.problems)
        raise typer.Exit(EXIT_FAILED_CHECKS)
    assert check.alert is not None
    languages = ", ".join(i.language for i in check.alert.infos) or "no <info>"
    typer.echo(f"valid CAP 1.2: {check.alert.identifier} from {check.alert.sender} ({languages})")


@cap_app.command("feed")
def feed_command(
    kind: Annotated[str, typer.Argument(help="alerts or exercises")] = "alerts",
    lang: Annotated[str, typer.Option("--lang", help="the feed's language")] = "sv",
) -> None:
    """Print a public Atom feed of active alerts (or exercises), as the web service serves it."""
    from service.config import get_settings
    from service.interop.feeds import FeedKind, build_feed
    from service.store.database import session_scope

    if kind not in FeedKind.__members__:
        raise fail_input(f"unknown feed {kind!r}; use alerts or exercises")
    _migrated()
    try:
        with session_scope() as session:
            feed = build_feed(session, FeedKind(kind), get_library(), get_settings(), language=lang)
    except ValueError as exc:
        raise fail_input(str(exc)) from None
    typer.echo(feed.body.decode("utf-8"))
