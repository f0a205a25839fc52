"""Tool type `mail`: the user's Gmail through their Google connection.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-27 14:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'mail'")


def downgrade() -> None:
    # Postgres cannot drop an enum value; mail tools are switched off instead.
    op.execute("UPDATE tools SET is_active = false WHERE tool_type = 'mail'")
