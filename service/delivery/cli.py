"""`klarvarsel deliver` and `stop-sending`: publishing a notice, sending it, stopping it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.config import get_settings
from service.content import get_library
from service.notices.cli_input import (
    EXIT_FAILED_CHECKS,
    EXIT_INVALID_INPUT,
    echo_warnings,
    fail_input,
    valid_notice,
)
from service.notices.links import notice_url

app = typer.Typer()
MAX_FAILURES_SHOWN = 25


@app.command()
def deliver(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan only")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="send in this process until done")] = False,
    allow_failed_checks: Annotated[
        bool, typer.Option("--allow-failed-checks", help="plan even if a variant failed a check")
    ] = False,
    allow_no_recipients: Annotated[
        bool,
        typer.Option(
            "--allow-no-recipients", help="publish even though nobody in the register is reached"
        ),
    ] = False,
    new: Annotated[
        bool,
        typer.Option("--new", help="publish again although the same notice was published before"),
    ] = False,
    actor: Annotated[str, typer.Option(help="who is sending (for the audit log)")] = "cli",
) -> None:
    """Publish a notice and plan its deliveries to the register; workers send them."""
    from service.delivery import deliver_command as steps
    from service.delivery.planning import PlanPreview
    from service.delivery.tracking import progress
    from service.notices.publish import DuplicateNotice, find_by_code
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    library = get_library()
    settings = get_settings()
    raw, notice = valid_notice(notice_file)
    upgrade(settings.effective_database_url)
    seen = steps.prepare(notice, raw, library, settings, full_plan=dry_run)
    if seen.duplicate_of is not None and not new:
        typer.echo(f"error: {DuplicateNotice(seen.duplicate_of)}; nothing was sent.", err=True)
        typer.echo(
            f'  To follow it up, send an update with "references": "{seen.duplicate_of.code}"; '
            "to send the same notice again as a new one, add --new.",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    echo_warnings(notice)
    failed = [c for c in seen.report.checks if not c.passed]
    for check in failed[:MAX_FAILURES_SHOWN]:
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        typer.echo(
            f"FAILED CHECK {check.audience.id} {check.variant.key.language} "
            f"{check.variant.key.name}: {errors}"
        )
    if len(failed) > MAX_FAILURES_SHOWN:
        typer.echo(f"... and {len(failed) - MAX_FAILURES_SHOWN} more failed checks")
    if seen.plan is not None:
        steps.describe_preview(seen.plan, typer.echo)
    typer.echo(f"will be published at {seen.url}")
    nobody = not seen.reaches_anybody
    if nobody:
        typer.echo(
            "WARNING this notice reaches nobody: no active person in the register lives in "
            f"{', '.join(notice.envelope.areas)} and belongs to one of its audiences"
            + (" and the exercise group" if notice.envelope.mode.value != "actual" else "")
        )
    if dry_run:
        typer.echo("dry run: nothing was planned or sent")
        raise typer.Exit(EXIT_FAILED_CHECKS if failed else 0)
    if failed and not allow_failed_checks:
        typer.echo("nothing was sent: fix the failed checks or pass --allow-failed-checks")
        raise typer.Exit(EXIT_FAILED_CHECKS)
    if nobody and not allow_no_recipients:
        typer.echo(
            "nothing was sent: check the areas and audiences, or pass --allow-no-recipients to "
            "publish the public page anyway"
        )
        raise typer.Exit(EXIT_FAILED_CHECKS)
    # The plan is counted while it is written (one pass over the register, so the first
    # messages leave at once) and shown right after.
    plan = PlanPreview()
    try:
        code, summary = steps.publish_and_plan(
            notice, raw, library, settings, actor, repeat=new, preview=plan
        )
    except DuplicateNotice as exc:  # published by someone else since the preview
        raise fail_input(f"{exc}; nothing was sent") from None
    steps.describe_preview(plan, typer.echo)
    if code != seen.code:
        typer.echo(f"note: {seen.code} was taken meanwhile; the links carry {code} instead")
    typer.echo(
        f"published as {notice_url(settings, code)}; planned {summary.inserted} "
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
    for line in counts.waiting_lines(settings.timezone):
        typer.echo(line)


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
            raise fail_input(f"no notice has the code {code!r}")
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


@app.command("retry")
def retry(
    code: Annotated[str, typer.Argument(help="the notice's public code")],
    actor: Annotated[str, typer.Option(help="who is retrying (for the audit log)")] = "cli",
) -> None:
    """Send again a notice's deliveries that failed for a temporary reason (after an outage)."""
    from service.delivery.requeue import retry_failed
    from service.notices.publish import find_by_code
    from service.store.database import session_scope

    with session_scope() as session:
        stored = find_by_code(session, code)
        if stored is None:
            raise fail_input(f"no notice has the code {code!r}")
        count = retry_failed(session, stored, get_settings(), actor=actor, source="cli")
    typer.echo(
        f"re-queued {count} failed deliveries of {stored.code}; workers send them now"
        if count
        else f"nothing to retry for {stored.code}: no delivery failed for a temporary reason"
    )


@app.command(
    hidden=True,
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def send() -> None:
    """Removed; says which two commands replace it, so an old script fails with directions."""
    typer.echo(
        "error: `klarvarsel send` was removed and nothing was sent. Sending goes through the "
        "register, so that every message is queued, retried and tracked:\n"
        "  klarvarsel recipients import FILE.csv --confirm   # put the people in the register\n"
        "  klarvarsel deliver NOTICE.json --dry-run          # who gets what, checks and cost\n"
        "  klarvarsel deliver NOTICE.json --wait             # publish and send\n"
        "`deliver` reaches every active person in the register who lives in the notice's "
        "areas and belongs to one of its audiences (give the CSV an `areas` column).",
        err=True,
    )
    raise typer.Exit(EXIT_INVALID_INPUT)
