"""Google Tasks sync: per task the Google task it mirrors (`google_task_id`), the version of it
last seen (`google_updated`, Google's `updated`) and the local `updated_at` last in step
(`google_synced_at`); per user whether sync is on and how far Google was read
(`google_task_sync`); and the Google tasks still to delete there (`google_task_deletions`).

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-28 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column("tasks", sa.Column("google_task_id", sa.String(length=1024), nullable=True))
    op.add_column("tasks", sa.Column("google_updated", sa.String(length=64), nullable=True))
    op.add_column(
        "tasks", sa.Column("google_synced_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_tasks_user_id_google_task_id", "tasks", ["user_id", "google_task_id"], unique=True
    )
    op.create_table(
        "google_task_sync",
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_min", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_google_task_sync_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_google_task_sync")),
    )
    op.create_table(
        "google_task_deletions",
        _timestamp("created_at"),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("google_task_id", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_google_task_deletions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "google_task_id", name=op.f("pk_google_task_deletions")
        ),
    )


def downgrade() -> None:
    op.drop_table("google_task_deletions")
    op.drop_table("google_task_sync")
    op.drop_index("ix_tasks_user_id_google_task_id", table_name="tasks")
    op.drop_column("tasks", "google_synced_at")
    op.drop_column("tasks", "google_updated")
    op.drop_column("tasks", "google_task_id")
