"""`klarvarsel print-pack`: one PDF with every language of a notice, for staff to hand out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.config import get_settings
from service.content import get_library
from service.notices.cli_input import fail_input, valid_notice
from service.notices.links import notice_url

app = typer.Typer()


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
        raise fail_input(f"unknown audience {audience!r}; known: {', '.join(library.audiences)}")
    _raw, notice = valid_notice(notice_file)
    public_url = notice_url(get_settings(), code) if code else None
    plan = plan_print_pack(notice, library, audience, public_url=public_url)
    out.write_bytes(write_print_pack(plan, library))
    typer.echo(f"wrote {out}: {', '.join(plan.languages)}")
    for language, reason in plan.left_out.items():
        typer.echo(f"left out {language}: {reason}")
