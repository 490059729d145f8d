"""`klarvarsel demo-data`: the fictional people (and later users) `make run` starts with."""

from __future__ import annotations

import typer

from service.config import get_settings
from service.content import get_library

app = typer.Typer()


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
