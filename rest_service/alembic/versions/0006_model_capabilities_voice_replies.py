"""llm_models.capabilities (chat, vision, transcription, speech) and users.voice_replies:
every model made before this chats, nobody gets voice answers unasked.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Written out rather than imported: a migration keeps the rule it was made with.
CAPABILITIES_CHECK = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech"]\'::jsonb'
)


def upgrade() -> None:
    op.add_column(
        "llm_models",
        sa.Column(
            "capabilities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"chat\"]'::jsonb"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_llm_models_capabilities_known"), "llm_models", CAPABILITIES_CHECK
    )
    op.add_column(
        "users",
        sa.Column("voice_replies", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "voice_replies")
    op.drop_constraint(op.f("ck_llm_models_capabilities_known"), "llm_models", type_="check")
    op.drop_column("llm_models", "capabilities")
