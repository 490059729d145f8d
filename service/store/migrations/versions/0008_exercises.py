"""Exercises and scheduled test broadcasts: schedules, firings, canaries, exercise runs.

Self-contained (it touches no table of another migration), so it can be re-chained after
another branch's 0005.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercise_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nominal_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_runs")),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("allow_failed_checks", sa.Boolean(), nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("inject_key", sa.String(length=64), nullable=True),
        sa.Column("offset_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["exercise_runs.id"], name=op.f("fk_schedules_run_id_exercise_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_schedules_name")),
    )
    with op.batch_alter_table("schedules") as batch:
        batch.create_index(batch.f("ix_schedules_next_fire_at"), ["next_fire_at"])
        batch.create_index(batch.f("ix_schedules_run_id"), ["run_id"])
    op.create_table(
        "schedule_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late_seconds", sa.Float(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("planned", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("scheduler_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_schedule_firings_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_firings_schedule_id_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_firings")),
        sa.UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_firings_once"),
    )
    with op.batch_alter_table("schedule_firings") as batch:
        batch.create_index(batch.f("ix_schedule_firings_schedule_id"), ["schedule_id"])
        batch.create_index(batch.f("ix_schedule_firings_notice_id"), ["notice_id"])
    op.create_table(
        "canaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canaries")),
        sa.UniqueConstraint("channel", "address", name="uq_canaries_channel"),
    )


def downgrade() -> None:
    op.drop_table("canaries")
    with op.batch_alter_table("schedule_firings") as batch:
        batch.drop_index(batch.f("ix_schedule_firings_notice_id"))
        batch.drop_index(batch.f("ix_schedule_firings_schedule_id"))
    op.drop_table("schedule_firings")
    with op.batch_alter_table("schedules") as batch:
        batch.drop_index(batch.f("ix_schedules_run_id"))
        batch.drop_index(batch.f("ix_schedules_next_fire_at"))
    op.drop_table("schedules")
    op.drop_table("exercise_runs")
