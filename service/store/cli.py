"""`klarvarsel db`: database migrations."""

from __future__ import annotations

import typer

from service.config import get_settings

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from service.store.migrate import upgrade_and_describe

    typer.echo(upgrade_and_describe(get_settings().effective_database_url))
