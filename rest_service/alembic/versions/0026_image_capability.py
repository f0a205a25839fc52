"""Model capability `image` (pictures made on request) and tool type `draw`.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27 11:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_llm_models_capabilities_known"
#: Written out rather than imported: a migration keeps the rule it was made with.
_BEFORE = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech"]\'::jsonb'
)
_AFTER = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech", "image"]\'::jsonb'
)


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'draw'")
    op.drop_constraint(op.f(_NAME), "llm_models", type_="check")
    op.create_check_constraint(op.f(_NAME), "llm_models", _AFTER)


def downgrade() -> None:
    # `image` leaves every model; one that only drew is kept (rows may name it), inactive.
    op.execute(
        "UPDATE llm_models SET is_active = false, capabilities = '[\"chat\"]'::jsonb "
        "WHERE capabilities = '[\"image\"]'::jsonb"
    )
    op.execute("UPDATE llm_models SET capabilities = capabilities - 'image'")
    op.drop_constraint(op.f(_NAME), "llm_models", type_="check")
    op.create_check_constraint(op.f(_NAME), "llm_models", _BEFORE)
    # Postgres cannot drop an enum value; `draw` stays, unused, in tool_type.
