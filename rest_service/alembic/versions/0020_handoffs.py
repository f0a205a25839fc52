"""handoffs (a conversation handed to the operators, one open per conversation), the bots'
operator chat and wait, tool type `handoff`.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    ]


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'handoff'")
    op.add_column("bots", sa.Column("operator_chat_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "bots",
        sa.Column("operator_wait_minutes", sa.Integer(), server_default="10", nullable=False),
    )
    op.create_table(
        "handoffs",
        *_timestamps(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bot_id", sa.Uuid(), nullable=True),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "conversation_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reply_stream", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("operator_chat_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "active",
                "returned",
                "expired",
                name="handoffstatus",
                native_enum=False,
                create_constraint=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("operator_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_handoffs_bot_id_bots"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_handoffs_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_handoffs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_user_id"), "handoffs", ["user_id"])
    op.create_index(
        "uq_handoffs_open_per_conversation",
        "handoffs",
        ["conversation_key"],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'active')"),
    )
    op.create_index("ix_handoffs_status_expires_at", "handoffs", ["status", "expires_at"])
    op.create_index("ix_handoffs_requested_at", "handoffs", ["requested_at"])


def downgrade() -> None:
    # Postgres cannot drop an enum value; `handoff` stays, unused, in tool_type.
    op.drop_table("handoffs")
    op.drop_column("bots", "operator_wait_minutes")
    op.drop_column("bots", "operator_chat_id")
