"""calendar_credentials.status, pending_since: a new Google connection waits (pending) until the
Telegram user who asked confirms it in their own chat (docs/decisions/0023-calendar-connection-bound-to-owner.md)

A user holds at most one active and one pending row, so a stranger's consent never replaces the
owner's working connection.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:15:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "calendar_credentials",
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
    )
    op.add_column(
        "calendar_credentials",
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_calendar_credentials_status"),
        "calendar_credentials",
        "status IN ('pending', 'active')",
    )
    op.drop_constraint("uq_calendar_credentials_user_id", "calendar_credentials", type_="unique")
    op.create_unique_constraint(
        "uq_calendar_credentials_user_id_status", "calendar_credentials", ["user_id", "status"]
    )


def downgrade() -> None:
    op.execute("DELETE FROM calendar_credentials WHERE status = 'pending'")
    op.drop_constraint(
        "uq_calendar_credentials_user_id_status", "calendar_credentials", type_="unique"
    )
    op.create_unique_constraint(
        "uq_calendar_credentials_user_id", "calendar_credentials", ["user_id"]
    )
    op.drop_constraint(
        op.f("ck_calendar_credentials_status"), "calendar_credentials", type_="check"
    )
    op.drop_column("calendar_credentials", "pending_since")
    op.drop_column("calendar_credentials", "status")
