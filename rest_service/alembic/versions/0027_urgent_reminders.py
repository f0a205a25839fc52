"""Urgent reminders: cron_jobs repeat a fire until Done is pressed (how often, how many at
most) and keep the state of the latest fire's repeats; a run says which repeat it was; each
Done under an urgent fire is kept with the repeats it took, for the analytics.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27 10:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOBS = "cron_jobs"
ACKS = "cron_job_acknowledgements"
_COUNTS = {"repeat_every_minutes": "5", "max_repeats": "6", "repeats_sent": "0"}
_MOMENTS = ("repeating_for", "acknowledged_for")


def upgrade() -> None:
    op.add_column(
        JOBS, sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    for name, default in _COUNTS.items():
        op.add_column(
            JOBS, sa.Column(name, sa.Integer(), server_default=sa.text(default), nullable=False)
        )
    for name in _MOMENTS:
        op.add_column(JOBS, sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cron_job_runs",
        sa.Column("repeat", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        ACKS,
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence", sa.DateTime(timezone=True), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], [f"{JOBS}.id"], name=op.f(f"fk_{ACKS}_job_id_{JOBS}"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{ACKS}")),
        sa.UniqueConstraint("job_id", "occurrence", name=f"uq_{ACKS}_fire"),
    )
    op.create_index(f"ix_{ACKS}_created_at", ACKS, ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(f"ix_{ACKS}_created_at", table_name=ACKS)
    op.drop_table(ACKS)
    op.drop_column("cron_job_runs", "repeat")
    for name in (*_MOMENTS, *reversed(_COUNTS), "urgent"):
        op.drop_column(JOBS, name)
