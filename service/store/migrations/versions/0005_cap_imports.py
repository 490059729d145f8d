"""Imported CAP alerts, keyed by sender and identifier, with the original message.

Revision ID: 0005
Revises: 0004 (the lead re-chains this after 0005 and 0006 when merging)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cap_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("msg_type", sa.String(length=16), nullable=False),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("match_reason", sa.String(length=500), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("references_code", sa.String(length=16), nullable=True),
        sa.Column("references_import_id", sa.Integer(), nullable=True),
        sa.Column("notice_code", sa.String(length=16), nullable=True),
        sa.Column("original_xml", sa.LargeBinary(), nullable=False),
        sa.Column("xml_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_imports")),
        sa.UniqueConstraint("sender", "identifier", name="uq_cap_imports_message"),
        sa.ForeignKeyConstraint(
            ["references_import_id"],
            ["cap_imports.id"],
            name=op.f("fk_cap_imports_references_import_id_cap_imports"),
        ),
    )
    op.create_index("ix_cap_imports_references_import_id", "cap_imports", ["references_import_id"])


def downgrade() -> None:
    op.drop_index("ix_cap_imports_references_import_id", table_name="cap_imports")
    op.drop_table("cap_imports")
