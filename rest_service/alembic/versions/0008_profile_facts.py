"""profile_facts: what a user told the assistant about themselves, one copy per
casefolded text, deleted with the user; tool type `remember` that writes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'remember'")
    op.create_table(
        "profile_facts",
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("text_key", sqlmodel.sql.sqltypes.AutoString(length=900), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_profile_facts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_facts")),
        sa.UniqueConstraint("user_id", "text_key", name="uq_profile_facts_user_id_text_key"),
    )
    op.create_index(
        "ix_profile_facts_user_id_created_at",
        "profile_facts",
        ["user_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    # Postgres cannot drop an enum value; `remember` stays, unused, in tool_type.
    op.drop_index("ix_profile_facts_user_id_created_at", table_name="profile_facts")
    op.drop_table("profile_facts")
