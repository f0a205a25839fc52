"""the channel a reminder fires in and the channel conversation a handoff answers to
(issue: one secretary, many channels).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 22:15:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Today's jobs are all Telegram's: the default keeps them as they are.
    op.add_column(
        "cron_jobs",
        sa.Column(
            "channel", sa.String(length=16), server_default=sa.text("'telegram'"), nullable=False
        ),
    )
    op.add_column("cron_jobs", sa.Column("channel_chat_id", sa.String(length=255), nullable=True))
    op.add_column("handoffs", sa.Column("channel_chat_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("handoffs", "channel_chat_id")
    op.drop_column("cron_jobs", "channel_chat_id")
    op.drop_column("cron_jobs", "channel")
