"""Urgent reminders: cron_jobs repeat a fire until Done is pressed (how often, how many at
most), keep the state of the latest fire's repeats, and count acknowledgements for the
analytics.

Revision ID: 0026
Revises: 0024 (0025_tasks comes between when both are merged)
Create Date: 2026-11-27 10:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "cron_jobs"
_COUNTS = {
    "repeat_every_minutes": "5",
    "max_repeats": "6",
    "repeats_sent": "0",
    "acknowledgements": "0",
    "repeats_before_acknowledgement": "0",
}
_MOMENTS = ("repeating_for", "acknowledged_for")


def upgrade() -> None:
    op.add_column(
        TABLE, sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    for name, default in _COUNTS.items():
        op.add_column(
            TABLE, sa.Column(name, sa.Integer(), server_default=sa.text(default), nullable=False)
        )
    for name in _MOMENTS:
        op.add_column(TABLE, sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for name in (*_MOMENTS, *reversed(_COUNTS), "urgent"):
        op.drop_column(TABLE, name)
