"""The `klarvarsel` command: serve, db, render, check, catalogs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from service.config import get_settings
from service.content import get_library
from service.delivery.worker_cli import worker
from service.notices.service import Notice, NoticeInvalid, validate_notice
from service.recipients.cli import recipients_app

app = typer.Typer(
    help="Klarvarsel: one crisis notice, every audience.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
catalogs_app = typer.Typer(help="Translation catalogs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalogs_app, name="catalogs")
app.add_typer(recipients_app, name="recipients")
app.command()(worker)

EXIT_FAILED_CHECKS = 1
EXIT_INVALID_INPUT = 2
MAX_FAILURES_SHOWN = 25


def _fail_input(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8")
    except OSError as exc:
        raise _fail_input(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail_input(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise _fail_input(f"{path}: a notice must be a JSON object")
    return data


def _valid_notice(notice_file: Path) -> tuple[dict[str, Any], Notice]:
    """The notice file's JSON and the validated notice; exit 2 naming every problem."""
    raw = _read_json(notice_file)
    try:
        return raw, validate_notice(raw, get_library())
    except NoticeInvalid as exc:
        typer.echo(f"error: {notice_file} is not a valid notice; nothing was sent:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Start the web service (API and pages) with uvicorn."""
    import uvicorn

    uvicorn.run("service.main:app", host=host, port=port, log_level="info")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from service.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    typer.echo(f"database up to date: {settings.effective_database_url}")


@app.command()
def render(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    out: Annotated[Path, typer.Option("--out", help="folder to write variants into")],
) -> None:
    """Render and check every variant; exit 0 if all pass, 1 if any fails, 2 on bad input."""
    from service.variants.service import render_notice, report_dict, write_report

    library = get_library()
    _raw, notice = _valid_notice(notice_file)
    report = render_notice(notice, library)
    report_path = write_report(report, out)
    summary = report_dict(report)["summary"]
    typer.echo(
        f"{summary['variants']} variants, {summary['checks']} audience checks, "
        f"{summary['failed']} failed; report: {report_path}"
    )
    failed = [c for c in report.checks if not c.passed]
    for check in failed[:MAX_FAILURES_SHOWN]:
        key = check.variant.key
        errors = [f.message for f in check.findings if f.severity == "error"]
        typer.echo(f"FAIL {check.audience.id} {key.language} {key.name}: {'; '.join(errors)}")
    if len(failed) > MAX_FAILURES_SHOWN:
        typer.echo(f"... and {len(failed) - MAX_FAILURES_SHOWN} more failures in {report_path}")
    raise typer.Exit(0 if report.passed else EXIT_FAILED_CHECKS)


@app.command()
def check(
    text_file: Annotated[Path, typer.Argument(help="text file, or - for stdin")],
    lang: Annotated[str, typer.Option("--lang", help="BCP 47 language tag")] = "sv",
    audience: Annotated[str, typer.Option(help="audience profile id")] = "general-public",
    sms: Annotated[bool, typer.Option("--sms", help="also check it as an SMS")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check any text's readability (and SMS size) against an audience's limits."""
    from service.channels.sms.encoding import analyse_sms
    from service.readability.service import check_text

    library = get_library()
    if audience not in library.audiences:
        raise _fail_input(f"unknown audience {audience!r}; known: {', '.join(library.audiences)}")
    try:
        text = sys.stdin.read() if str(text_file) == "-" else text_file.read_text("utf-8")
    except OSError as exc:
        raise _fail_input(f"cannot read {text_file}: {exc.strerror}") from None
    profile = library.audiences[audience]
    report = check_text(text, lang, profile.limits_for(lang))
    result: dict[str, Any] = {"audience": audience, **report.to_dict()}
    passed = report.passed
    if sms:
        analysis = analyse_sms(text)
        result["sms"] = analysis.to_dict() | {"budget": profile.sms_max_segments}
        passed = passed and analysis.segments <= profile.sms_max_segments
    result["passed"] = passed
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_check(result)
    raise typer.Exit(0 if passed else EXIT_FAILED_CHECKS)


def _print_check(result: dict[str, Any]) -> None:
    metrics = result["metrics"]
    typer.echo(f"language {result['language']}, audience {result['audience']}")
    for name, value in metrics.items():
        if value is not None:
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            typer.echo(f"  {name:<24} {shown}")
    typer.echo(f"  validated measures: {', '.join(result['validated_measures']) or 'none'}")
    limits = {k: v for k, v in result["limits"].items() if v is not None}
    typer.echo(f"  limits: {limits or 'none'}")
    if "sms" in result:
        s = result["sms"]
        typer.echo(f"  sms: {s['encoding']}, {s['segments']} segments (budget {s['budget']})")
    for finding in result["findings"]:
        typer.echo(f"  {finding['severity'].upper()}: {finding['message']}")
    typer.echo("PASSED" if result["passed"] else "FAILED")


@catalogs_app.command("update")
def catalogs_update() -> None:
    """Extract messages from the templates and merge them into every catalog."""
    from service.rendering.messages import update_catalogs

    library = get_library()
    settings = get_settings()
    written = update_catalogs(settings.templates_dir, settings.locales_dir, list(library.languages))
    typer.echo(f"updated {len(written)} catalogs and locales/messages.pot")


@catalogs_app.command("status")
def catalogs_status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Translation coverage per language and scenario, with each catalog's review status."""
    from service.rendering.messages import coverage

    library = get_library()
    settings = get_settings()
    rows = coverage(settings.templates_dir, settings.locales_dir, library.languages)
    if as_json:
        typer.echo(
            json.dumps(
                [r.__dict__ | {"percent": round(r.percent, 1)} for r in rows],
                default=str,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(
        f"{'language':<8} {'scenario':<22} {'covered':>8} {'fuzzy':>6} {'missing':>8}  review"
    )
    for r in rows:
        typer.echo(
            f"{r.language:<8} {r.scenario:<22} {r.percent:>7.0f}% {r.fuzzy:>6} "
            f"{r.missing:>8}  {r.review_status.value}"
        )


@app.command()
def openapi() -> None:
    """Print the REST contract (openapi.yaml is this output, committed)."""
    import yaml

    from service.main import app as web_app

    typer.echo(yaml.safe_dump(web_app.openapi(), sort_keys=False, allow_unicode=True), nl=False)


@catalogs_app.command("check")
def catalogs_check() -> None:
    """Fail if any translation's placeholders differ from its English message."""
    from service.rendering.messages import placeholder_problems

    library = get_library()
    problems = [
        p for tag in library.languages for p in placeholder_problems(library.locales_dir, tag)
    ]
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"{len(problems)} placeholder problems")
    raise typer.Exit(1 if problems else 0)


@app.command()
def send(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    recipients: Annotated[Path, typer.Option("--recipients", help="recipients CSV")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would go out")] = False,
    allow_failed_checks: Annotated[
        bool, typer.Option("--allow-failed-checks", help="send even if a variant failed a check")
    ] = False,
    actor: Annotated[str, typer.Option(help="who is sending (for the audit log)")] = "cli",
) -> None:
    """Send a notice to a small recipient list now (a dry run sends nothing)."""
    from service.delivery.send_command import describe_plan, placeholder_url, publish_and_send
    from service.delivery.send_now import plan_send
    from service.recipients.csv_import import read_recipients

    library = get_library()
    settings = get_settings()
    raw, notice = _valid_notice(notice_file)
    try:
        data = recipients.read_bytes()
    except OSError as exc:
        raise _fail_input(f"cannot read {recipients}: {exc.strerror}") from None
    result = read_recipients(data, library.languages, library.audiences)
    if result.errors:
        typer.echo(f"error: {recipients} has bad rows; nothing was sent:", err=True)
        for error in result.errors:
            typer.echo(f"  - {error}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    plan = plan_send(notice, result.recipients, library, placeholder_url(settings))
    describe_plan(plan, settings, typer.echo)
    if dry_run:
        typer.echo("dry run: nothing was sent")
        raise typer.Exit(EXIT_FAILED_CHECKS if plan.failed_checks else 0)
    if plan.failed_checks and not allow_failed_checks:
        typer.echo("nothing was sent: fix the failed checks or pass --allow-failed-checks")
        raise typer.Exit(EXIT_FAILED_CHECKS)
    code, plan, outcome = publish_and_send(notice, raw, result.recipients, library, settings, actor)
    typer.echo(f"published as {settings.public_base_url}/n/{code}")
    typer.echo(
        f"sent {len(outcome.sent)}, failed {len(outcome.failed)}, "
        f"unreachable {len(plan.unreachable)}"
    )
    for assignment, reason in outcome.failed:
        typer.echo(f"FAILED {assignment.channel.value} to {assignment.recipient.name}: {reason}")
    raise typer.Exit(EXIT_FAILED_CHECKS if outcome.failed else 0)


@app.command("print-pack")
def print_pack(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    audience: Annotated[str, typer.Option(help="audience profile id")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write")],
    code: Annotated[str | None, typer.Option(help="public code, for the QR code link")] = None,
) -> None:
    """Write one PDF with every language of a notice for an audience, for staff to hand out."""
    from service.channels.print.pack import plan_print_pack, write_print_pack

    library = get_library()
    if audience not in library.audiences:
        raise _fail_input(f"unknown audience {audience!r}; known: {', '.join(library.audiences)}")
    _raw, notice = _valid_notice(notice_file)
    public_url = f"{get_settings().public_base_url}/n/{code}" if code else None
    plan = plan_print_pack(notice, library, audience, public_url=public_url)
    out.write_bytes(write_print_pack(plan, library))
    typer.echo(f"wrote {out}: {', '.join(plan.languages)}")
    for language, reason in plan.left_out.items():
        typer.echo(f"left out {language}: {reason}")


@app.command("demo-data")
def demo_data() -> None:
    """Load the fictional demo recipients into an empty register (what `make run` does)."""
    import sqlalchemy as sa

    from service.config import PROJECT_ROOT
    from service.recipients.csv_import import read_recipients
    from service.recipients.models import RecipientRecord
    from service.recipients.register import import_recipients
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    library = get_library()
    with session_scope() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(RecipientRecord)):
            typer.echo("the register already has recipients; demo data not loaded")
            return
        data = (PROJECT_ROOT / "demo" / "recipients.csv").read_bytes()
        result = read_recipients(data, library.languages, library.audiences)
        report = import_recipients(session, result, confirm=True, actor="demo-data")
    typer.echo(f"loaded {len(report.created)} fictional demo recipients into the register")


@app.command()
def deliver(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan only")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="send in this process until done")] = False,
    allow_failed_checks: Annotated[
        bool, typer.Option("--allow-failed-checks", help="plan even if a variant failed a check")
    ] = False,
    actor: Annotated[str, typer.Option(help="who is sending (for the audit log)")] = "cli",
) -> None:
    """Publish a notice and plan its deliveries to the register; workers send them."""
    from service.delivery import deliver_command as steps
    from service.delivery.tracking import progress
    from service.notices.publish import find_by_code
    from service.store.database import session_scope
    from service.store.migrate import upgrade
    from service.variants.service import render_notice

    library = get_library()
    settings = get_settings()
    raw, notice = _valid_notice(notice_file)
    upgrade(settings.effective_database_url)
    failed = [c for c in render_notice(notice, library).checks if not c.passed]
    for check in failed[:MAX_FAILURES_SHOWN]:
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        typer.echo(
            f"FAILED CHECK {check.audience.id} {check.variant.key.language} "
            f"{check.variant.key.name}: {errors}"
        )
    steps.describe_preview(steps.preview(notice, library, settings), typer.echo)
    if dry_run:
        typer.echo("dry run: nothing was planned or sent")
        raise typer.Exit(EXIT_FAILED_CHECKS if failed else 0)
    if failed and not allow_failed_checks:
        typer.echo("nothing was sent: fix the failed checks or pass --allow-failed-checks")
        raise typer.Exit(EXIT_FAILED_CHECKS)
    code, summary = steps.publish_and_plan(notice, raw, library, settings, actor)
    typer.echo(
        f"published as {settings.public_base_url}/n/{code}; planned {summary.inserted} "
        f"deliveries in {summary.seconds:.2f} s"
    )
    if wait:
        steps.run_until_done(settings)
    with session_scope() as session:
        stored = find_by_code(session, code)
        assert stored is not None
        counts = progress(session, stored.id)
    overall = ", ".join(f"{status} {n}" for status, n in counts.overall.items() if n)
    typer.echo(
        f"progress: {overall or 'nothing planned'}"
        + ("" if counts.done else " (workers are sending the rest)")
    )


@app.command("stop-sending")
def stop_sending(
    code: Annotated[str, typer.Argument(help="the notice's public code")],
    actor: Annotated[str, typer.Option(help="who is stopping it (for the audit log)")] = "cli",
) -> None:
    """Cancel every delivery of a notice that has not been sent (in-flight ones finish)."""
    from service.audit.service import record
    from service.delivery.cancel import cancel_deliveries
    from service.notices.publish import find_by_code
    from service.store.database import session_scope

    with session_scope() as session:
        stored = find_by_code(session, code)
        if stored is None:
            raise _fail_input(f"no notice has the code {code!r}")
        cancelled = cancel_deliveries(session, stored.id)
        record(
            session,
            actor=actor,
            action="deliveries.cancelled",
            subject_type="notice",
            subject_id=stored.id,
            source="cli",
            details={"cancelled": cancelled},
        )
    typer.echo(f"cancelled {cancelled} deliveries of {stored.code} that were not yet sent")
