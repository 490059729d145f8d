"""`klarvarsel demo-data`: the fictional people and demo users `make run` starts with."""

from __future__ import annotations

import typer

from service.config import get_settings
from service.content import get_library

app = typer.Typer()


@app.command("demo-data")
def demo_data() -> None:
    """Load demo recipients and one user per role into empty tables (what `make run` does)."""
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
            typer.echo("the register already has recipients; demo recipients not loaded")
        else:
            data = (PROJECT_ROOT / "demo" / "recipients.csv").read_bytes()
            result = read_recipients(data, library.languages, library.audiences)
            report = import_recipients(session, result, confirm=True, actor="demo-data")
            typer.echo(f"loaded {len(report.created)} fictional demo recipients into the register")
    _demo_users()


def _demo_users() -> None:
    from service.accounts.demo import create_demo_users
    from service.notices.links import public_base_url
    from service.store.database import session_scope

    with session_scope() as session:
        created = create_demo_users(session)
    if not created:
        typer.echo("users exist already; demo users not created")
        return
    typer.echo(f"demo users (sign in at {public_base_url(get_settings())}/login; demo only):")
    for email, role, password in created:
        typer.echo(f"  {role.value:<9} {email:<22} password: {password}")
