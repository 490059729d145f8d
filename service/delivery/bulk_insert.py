"""Planned deliveries written in bulk: COPY through a staging table on PostgreSQL.

Planning writes 100,000 rows for a large alert, and the first messages wait on nothing else
once the first batch is in; the rest of the plan should not keep a core busy for long. An
`executemany` of 1,000 rows is 1,000 statements to parse and plan, even pipelined; `COPY`
streams them as one, and one `INSERT .. SELECT .. ON CONFLICT DO NOTHING` moves them into
`deliveries`, so planning again after a crash still leaves planned rows alone. SQLite keeps the
`executemany` (it runs in-process, with no round trips to save).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from service.delivery.models import Delivery

# The columns planning fills (service.delivery.planning._row); the rest take their defaults.
COLUMNS = (
    "notice_id",
    "recipient_id",
    "recipient_key",
    "channel",
    "address",
    "language",
    "register",
    "role",
    "audience",
    "status",
    "last_error",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)
_UNIQUE = ("notice_id", "recipient_key", "channel")  # uq_deliveries_once
_NAMES = ", ".join(f'"{c}"' for c in COLUMNS)
# The staging table lives in the connection's own temporary schema and empties at each commit;
# created from the real table, so its column types are the same.
_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS planning_stage ON COMMIT DELETE ROWS AS "
    f"SELECT {_NAMES} FROM deliveries WITH NO DATA"
)
_MOVE = (
    f"INSERT INTO deliveries ({_NAMES}) SELECT {_NAMES} FROM planning_stage "
    f"ON CONFLICT ({', '.join(_UNIQUE)}) DO NOTHING"
)


def insert_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows, leaving any already planned (same notice, recipient, channel); new ones."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _copy(session, rows)
    if dialect != "sqlite":
        raise RuntimeError(f"planning does not support the {dialect} database")
    table = cast(sa.Table, Delivery.__table__)
    statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(_UNIQUE))
    # SQLite reports the rows an executemany really inserted (conflicts: 0).
    result = session.execute(statement, rows, execution_options={"preserve_rowcount": True})
    return cast(sa.CursorResult[Any], result).rowcount


def _copy(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    driver = session.connection().connection.driver_connection  # psycopg, in this transaction
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(_STAGE)
        with cursor.copy(f"COPY planning_stage ({_NAMES}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        cursor.execute(_MOVE)
        inserted = int(cursor.rowcount)
        cursor.execute("DELETE FROM planning_stage")  # a second batch in this transaction
    return inserted
