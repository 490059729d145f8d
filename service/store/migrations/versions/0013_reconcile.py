"""Reconciling messages still `sent` with the provider: when to ask next, per delivery.

Self-contained (one column and one index on deliveries), so it can be re-chained after another
branch's migration. SMS already `sent` through Twilio are asked about from the start.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("reconcile_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_deliveries_reconcile", ["status", "reconcile_at"])
    # Twilio's message ids start with SM (MM for MMS); anything else never reports receipts.
    op.execute(
        "UPDATE deliveries SET reconcile_at = sent_at WHERE status = 'sent' "
        "AND channel = 'sms' AND sent_at IS NOT NULL "
        "AND (provider_id LIKE 'SM%' OR provider_id LIKE 'MM%')"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_reconcile")
        batch.drop_column("reconcile_at")
