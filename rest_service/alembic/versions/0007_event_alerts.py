"""users.event_alert_minutes: an alert that many minutes before each calendar event;
0, the default, means none, so nobody gets alerts unasked.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("event_alert_minutes", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "event_alert_minutes")
