"""catalogue_items: a business assistant's services and products (or every assistant's),
searched in full text like the chat history; tool type `catalogue` that reads them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('russian'::regconfig, COALESCE(name, ''::character varying)), 'A')"
    " || setweight(to_tsvector('russian'::regconfig, COALESCE((tags)::text, ''::text)), 'A')"
    " || setweight(to_tsvector('russian'::regconfig, COALESCE(description, ''::text)), 'B')"
)


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'catalogue'")
    op.create_table(
        "catalogue_items",
        sa.Column("assistant_id", sa.Uuid(), nullable=True),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("price", sa.Numeric(16, 4), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column(
            "tags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR_SQL, persisted=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_catalogue_items_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_items")),
    )
    op.create_index(
        "uq_catalogue_items_assistant_sku",
        "catalogue_items",
        ["assistant_id", "sku"],
        unique=True,
        postgresql_where=sa.text("assistant_id IS NOT NULL AND sku IS NOT NULL"),
    )
    op.create_index(
        "uq_catalogue_items_shared_sku",
        "catalogue_items",
        ["sku"],
        unique=True,
        postgresql_where=sa.text("assistant_id IS NULL AND sku IS NOT NULL"),
    )
    op.create_index(
        "ix_catalogue_items_assistant_id_name", "catalogue_items", ["assistant_id", "name"]
    )
    op.create_index(
        "ix_catalogue_items_search",
        "catalogue_items",
        ["search_vector"],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_catalogue_items_tags",
        "catalogue_items",
        ["tags"],
        postgresql_using="gin",
        postgresql_ops={"tags": "jsonb_path_ops"},
    )


def downgrade() -> None:
    # Postgres cannot drop an enum value; `catalogue` stays, unused, in tool_type.
    op.drop_table("catalogue_items")
