"""tasks: a user's to-do list (title, notes, deadline, priority, open or done), each with at
most one reminder (a cron job, set null if that job goes), deleted with the user; tool type
`tasks` that keeps them.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28 10:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _varchar_enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=False, length=16)


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'tasks'")
    op.create_table(
        "tasks",
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "priority", _varchar_enum("taskpriority", "low", "normal", "high"), nullable=False
        ),
        sa.Column("status", _varchar_enum("taskstatus", "open", "done"), nullable=False),
        sa.Column("reminder_job_id", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tasks_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reminder_job_id"],
            ["cron_jobs.id"],
            name=op.f("fk_tasks_reminder_job_id_cron_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("idempotency_key", name="uq_tasks_idempotency_key"),
    )
    op.create_index("ix_tasks_user_id_status", "tasks", ["user_id", "status"], unique=False)


def downgrade() -> None:
    # Postgres cannot drop an enum value; `tasks` stays, unused, in tool_type.
    op.drop_index("ix_tasks_user_id_status", table_name="tasks")
    op.drop_table("tasks")
