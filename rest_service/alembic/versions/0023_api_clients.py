"""api_clients: the outside programs that call the public API, each with a key kept only as
its SHA-256.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("allowed_assistants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("per_minute_limit", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=False),
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_prefix", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("name", name="uq_api_clients_name"),
        sa.UniqueConstraint("key_hash", name="uq_api_clients_key_hash"),
    )
    op.create_index(
        op.f("ix_api_clients_key_prefix"), "api_clients", ["key_prefix"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_clients_key_prefix"), table_name="api_clients")
    op.drop_table("api_clients")
