"""Tool types `web_search` and `read_page` (web answers).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'web_search'")
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'read_page'")


def downgrade() -> None:
    # Postgres cannot drop an enum value; both stay, unused, in tool_type.
    pass
