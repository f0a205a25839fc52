"""Recall by meaning: model capability `embedding` and `message_embeddings`, one vector per
stored message and embedding model, kept per conversation (deleted with its message).

The `vector` extension is made where the server has it (pgvector ranks there); where it does
not, rest_service ranks the conversation's latest vectors itself, so the schema is the same.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-27 11:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_llm_models_capabilities_known"
TABLE = "message_embeddings"
#: Written out rather than imported: a migration keeps the rule it was made with.
_BEFORE = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech", "image"]\'::jsonb'
)
_AFTER = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech", "image", '
    '"embedding"]\'::jsonb'
)


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "llm_models", type_="check")
    op.create_check_constraint(op.f(_NAME), "llm_models", _AFTER)
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_key", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("vector", postgresql.ARRAY(sa.REAL()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("cardinality(vector) = dims", name=op.f(f"ck_{TABLE}_dims")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_messages.id"],
            name=op.f(f"fk_{TABLE}_message_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("message_id", "model", name=f"uq_{TABLE}_message_model"),
    )
    op.create_index(f"ix_{TABLE}_conversation", TABLE, ["conversation_key", "model", "message_id"])
    # pgvector ranks in the server where it is installed; elsewhere this is a no-op.
    op.execute(
        "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS vector; EXCEPTION WHEN OTHERS THEN NULL; END $$"
    )


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_conversation", table_name=TABLE)
    op.drop_table(TABLE)
    op.execute("UPDATE llm_models SET capabilities = capabilities - 'embedding'")
    op.execute(
        "UPDATE llm_models SET is_active = false, capabilities = '[\"chat\"]'::jsonb "
        "WHERE capabilities = '[]'::jsonb"
    )
    op.drop_constraint(op.f(_NAME), "llm_models", type_="check")
    op.create_check_constraint(op.f(_NAME), "llm_models", _BEFORE)
