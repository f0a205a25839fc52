"""leads.conversation_key as long as chat_messages': a bots row's bot's conversation key
(`bot:<bot id>:<user id>`) did not fit 64, and such a bot could record no lead.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "leads",
        "conversation_key",
        type_=sqlmodel.sql.sqltypes.AutoString(length=255),
        existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
        existing_nullable=False,
    )


def downgrade() -> None:
    # A longer key would not fit back: such leads keep their key cut to 64 characters.
    op.execute("UPDATE leads SET conversation_key = left(conversation_key, 64)")
    op.alter_column(
        "leads",
        "conversation_key",
        type_=sqlmodel.sql.sqltypes.AutoString(length=64),
        existing_type=sqlmodel.sql.sqltypes.AutoString(length=255),
        existing_nullable=False,
    )
