"""Webhook signing secrets stored encrypted: room in the column for the sealed form.

The secrets themselves are sealed by the service, which holds the key (migrations do not): the
webhook sender, when it starts, seals any secret still stored as given. Self-contained (one
column of its own table), so it can be re-chained.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(100), type_=sa.String(300), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(300), type_=sa.String(100), existing_nullable=False
        )
