"""Recall by meaning covers profile facts: `fact_embeddings`, one vector per fact and
embedding model, kept with the fact's user (deleted with its fact).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-27 13:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "fact_embeddings"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("fact_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
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
            ["fact_id"],
            ["profile_facts.id"],
            name=op.f(f"fk_{TABLE}_fact_id_profile_facts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("fact_id", "model", name=f"uq_{TABLE}_fact_model"),
    )
    op.create_index(f"ix_{TABLE}_user", TABLE, ["user_id", "model"])


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_user", table_name=TABLE)
    op.drop_table(TABLE)
