"""knowledge_articles: what a business's assistant answers from, searched in full text
(Russian and English stemmed, title words weighted first); tool type `knowledge`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 15:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('russian'::regconfig, COALESCE(title, ''::character varying)), 'A') "
    "|| setweight(to_tsvector('russian'::regconfig, COALESCE(body, ''::text)), 'B')"
)


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'knowledge'")
    op.create_table(
        "knowledge_articles",
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
        sa.Column("assistant_id", sa.Uuid(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=64)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR_SQL, persisted=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_knowledge_articles_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
    )
    op.create_index(
        "ix_knowledge_articles_assistant_id", "knowledge_articles", ["assistant_id"], unique=False
    )
    op.create_index(
        "ix_knowledge_articles_search",
        "knowledge_articles",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_knowledge_articles_tags",
        "knowledge_articles",
        ["tags"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    # Postgres cannot drop an enum value; `knowledge` stays, unused, in tool_type.
    op.drop_index("ix_knowledge_articles_tags", table_name="knowledge_articles")
    op.drop_index("ix_knowledge_articles_search", table_name="knowledge_articles")
    op.drop_index("ix_knowledge_articles_assistant_id", table_name="knowledge_articles")
    op.drop_table("knowledge_articles")
