"""The notice workflow: drafts, approval tied to a fingerprint, sending now or at a set time.

Published notices become `sent` (the state a notice is in once it has been released to its
recipients); their send time and planning are filled in from what is known.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("source", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("updated_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("updated_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("submitted_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("approved_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("approval_fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("self_approved", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("send_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("sent_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("sent_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("planned_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("planning_lease", _WHEN, nullable=True))
        batch.add_column(sa.Column("cancelled_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=200), nullable=True))
        batch.create_index("ix_notices_status", ["status"])
    notices = sa.table(
        "notices",
        sa.column("status", sa.String),
        sa.column("created_at", _WHEN),
        sa.column("created_by", sa.String),
        sa.column("sent_at", _WHEN),
        sa.column("sent_by", sa.String),
        sa.column("planned_at", _WHEN),
        sa.column("updated_at", _WHEN),
    )
    # Everything published so far was sent and planned at once by `klarvarsel deliver`.
    op.execute(
        notices.update()
        .where(notices.c.status == "published")
        .values(
            status="sent",
            sent_at=notices.c.created_at,
            sent_by=notices.c.created_by,
            planned_at=notices.c.created_at,
            updated_at=notices.c.created_at,
        )
    )


def downgrade() -> None:
    notices = sa.table("notices", sa.column("status", sa.String))
    op.execute(notices.update().where(notices.c.status == "sent").values(status="published"))
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_status")
        for name in (
            "cancelled_by",
            "cancelled_at",
            "planning_lease",
            "planned_at",
            "sent_by",
            "sent_at",
            "send_at",
            "self_approved",
            "approval_fingerprint",
            "approved_by",
            "approved_at",
            "submitted_at",
            "updated_by",
            "updated_at",
            "source",
        ):
            batch.drop_column(name)
