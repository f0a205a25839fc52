"""Thread summaries: a running summary per conversation thread of the turns that fell out of
the recent window, with the newest message it covers.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-27 11:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "thread_summaries"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_key", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("covers_message_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("thread_id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(
        op.f(f"ix_{TABLE}_conversation_key"), TABLE, ["conversation_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{TABLE}_conversation_key"), table_name=TABLE)
    op.drop_table(TABLE)
