"""Pairing: a stranger who writes to a private bot gets a code; the owner approves or
refuses it, and the approved may use the bot.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-27 11:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "pairings"


def upgrade() -> None:
    op.create_table(
        TABLE,
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
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("telegram_id", name=op.f(f"uq_{TABLE}_telegram_id")),
    )
    op.create_index(op.f(f"ix_{TABLE}_status"), TABLE, ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{TABLE}_status"), table_name=TABLE)
    op.drop_table(TABLE)
