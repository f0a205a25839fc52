"""feedback (a user's 👍 / 👎 on one answer, with a 👎's comment and what made the answer)
and assistants.feedback_buttons (whether its answers carry the buttons).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    ]


def upgrade() -> None:
    op.add_column(
        "assistants",
        sa.Column("feedback_buttons", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "feedback",
        *_timestamps(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("chat_message_id", sa.BigInteger(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("prompt_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bot_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("rating IN (1, -1)", name=op.f("ck_feedback_rating_up_or_down")),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_feedback_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feedback_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["chat_message_id"],
            ["chat_messages.id"],
            name=op.f("fk_feedback_chat_message_id_chat_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_feedback_bot_id_bots"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_user_id"), "feedback", ["user_id"])
    op.create_index(
        "uq_feedback_message_user", "feedback", ["message_key", "user_id"], unique=True
    )
    op.create_index(
        "ix_feedback_assistant_id_created_at", "feedback", ["assistant_id", "created_at"]
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_column("assistants", "feedback_buttons")
