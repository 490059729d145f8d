"""Recipients' lists as plain-text twins that planning reads and filters without decoding JSON.

Adds language_codes, audience_codes, area_codes and group_codes (service.recipients.codes),
fills them from the JSON lists, and on PostgreSQL indexes the language, audience and area twins
as arrays (GIN on string_to_array), the form planning's filter uses. Self-contained (it touches
only the recipients table), so it can be re-chained after another branch's migration.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SEPARATOR = "\x1f"  # as service.recipients.codes; a migration does not import the service
TWINS = {
    "languages": "language_codes",
    "audiences": "audience_codes",
    "areas": "area_codes",
    "groups": "group_codes",
}
INDEXED = ("language_codes", "audience_codes", "area_codes")


def _join(value: Any) -> str:
    items = json.loads(value) if isinstance(value, str) else value or []
    return f"{SEPARATOR}{SEPARATOR.join(str(i) for i in items)}{SEPARATOR}" if items else ""


def upgrade() -> None:
    with op.batch_alter_table("recipients") as batch:
        for twin in TWINS.values():
            batch.add_column(sa.Column(twin, sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    table = sa.table("recipients", sa.column("id"), *(sa.column(n) for n in TWINS))
    rows = bind.execute(sa.select(table)).mappings().all()
    update = sa.text(
        "UPDATE recipients SET "
        + ", ".join(f"{twin} = :{twin}" for twin in TWINS.values())
        + " WHERE id = :id"
    )
    values = [
        {"id": row["id"], **{twin: _join(row[src]) for src, twin in TWINS.items()}} for row in rows
    ]
    if values:
        bind.execute(update, values)
    if bind.dialect.name == "postgresql":
        for twin in INDEXED:
            op.execute(
                f"CREATE INDEX ix_recipients_{twin} ON recipients "
                f"USING gin (string_to_array({twin}, E'\\x1f'))"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for twin in INDEXED:
            op.execute(f"DROP INDEX ix_recipients_{twin}")
    with op.batch_alter_table("recipients") as batch:
        for twin in TWINS.values():
            batch.drop_column(twin)
