"""Run Alembic migrations programmatically (used by the CLI, `make run` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is a ConfigParser: a literal % (as in ?options=-csearch_path%3D...) must
    # be doubled or it is read as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None for an empty (new) database."""
    from alembic.runtime.migration import MigrationContext

    from service.store.database import make_engine

    engine = make_engine(url)  # creates a SQLite file's folder, as a fresh clone needs
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision, read from the file names (NNNN_name.py, revision "NNNN").

    The chain is linear and each file's revision is its number (tests/store checks both against
    Alembic's own reading), so no migration script is loaded to know it.
    """
    numbers = [p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")]
    return max(numbers)


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`."""
    if revision == "head" and current_revision(url) == head_revision():
        # Already there: every command calls this, and Alembic's full run (its environment,
        # every model and every script loaded) costs 0.35 s before a first message can leave.
        return
    command.upgrade(alembic_config(url), revision)


def upgrade_and_describe(url: str) -> str:
    """Migrate to the newest revision and say what happened, in one line."""
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    shown = _without_password(url)
    if before is None:
        return f"created the database at revision {after}: {shown}"
    if before != after:
        return f"migrated the database from revision {before} to {after}: {shown}"
    return f"the database was already at the newest revision ({after}): {shown}"


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)
