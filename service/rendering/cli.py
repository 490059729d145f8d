"""`klarvarsel catalogs`: translation catalogs (update, status, check)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.config import get_settings
from service.content import get_library

catalogs_app = typer.Typer(help="Translation catalogs.", no_args_is_help=True)


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
