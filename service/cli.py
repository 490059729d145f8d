"""The `klarvarsel` command: mounts each domain's own commands and nothing else."""

from __future__ import annotations

import typer

from service import demo
from service.accounts.cli import keys_app, users_app
from service.audit import cli as audit_cli
from service.channels.print import cli as print_cli
from service.delivery import cli as delivery_cli
from service.delivery.worker_cli import worker
from service.exercises import cli as exercises_cli
from service.interop.cli import cap_app
from service.recipients.cli import recipients_app
from service.rendering.cli import catalogs_app
from service.store.cli import db_app
from service.variants import cli as variants_cli
from service.web import cli as web_cli
from service.webhooks.cli import webhooks_app

app = typer.Typer(
    help="Klarvarsel: one crisis notice, every audience.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(catalogs_app, name="catalogs")
app.add_typer(recipients_app, name="recipients")
app.add_typer(cap_app, name="cap")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="api-keys")
app.add_typer(webhooks_app, name="webhooks")
app.command()(worker)
exercises_cli.mount(app)  # schedules, exercises, canaries, reports, calendar, scheduler
# Each domain's single commands sit at the top level (`klarvarsel render`, `klarvarsel deliver`).
for commands in (
    web_cli.app,
    variants_cli.app,
    delivery_cli.app,
    print_cli.app,
    audit_cli.app,
    demo.app,
):
    app.registered_commands += commands.registered_commands


if __name__ == "__main__":
    app()
