"""A revision number on every register row, raised by each change, for approval fingerprints.

An approval binds to the rows its notice reaches as one aggregate query (service.recipients.
service.reach_digest). The latest change time cannot carry that: a transaction that commits
after another can carry the earlier time, and clocks differ between hosts. A number that every
UPDATE raises by one changes the sum whenever any reached row changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recipients") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("recipients") as batch:
        batch.drop_column("revision")
