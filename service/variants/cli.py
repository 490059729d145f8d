"""`klarvarsel render` and `klarvarsel check`: every variant of a notice, or any text, checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from service.content import get_library
from service.notices.cli_input import (
    EXIT_FAILED_CHECKS,
    fail_input,
    valid_notice,
)

app = typer.Typer()
MAX_FAILURES_SHOWN = 25


@app.command()
def render(
    notice_file: Annotated[Path, typer.Argument(help="notice JSON, or - for stdin")],
    out: Annotated[Path, typer.Option("--out", help="folder to write variants into")],
) -> None:
    """Render and check every variant; exit 0 if all pass, 1 if any fails, 2 on bad input."""
    from service.variants.service import render_notice, report_dict, write_report

    library = get_library()
    _raw, notice = valid_notice(notice_file)
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
        raise fail_input(f"unknown audience {audience!r}; known: {', '.join(library.audiences)}")
    try:
        text = sys.stdin.read() if str(text_file) == "-" else text_file.read_text("utf-8")
    except OSError as exc:
        raise fail_input(f"cannot read {text_file}: {exc.strerror}") from None
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
