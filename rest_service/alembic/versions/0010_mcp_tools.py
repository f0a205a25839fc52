"""Tool type `mcp` and `tools.config`, where an mcp tool's server is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 16:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'mcp'")
    op.add_column("tools", sa.Column("config", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    # Postgres cannot drop an enum value; 'mcp' stays, unused, in tool_type.
    op.drop_column("tools", "config")
