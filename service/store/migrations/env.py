"""Alembic environment: migrations run against the URL set by service.store.migrate."""

from __future__ import annotations

from alembic import context

import service.store.models  # noqa: F401  (registers every table on Base.metadata)
from service.store.database import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
