"""user_identities (a person's senders on channels beside Telegram), link_codes (one-time codes
that join two of them), users.telegram_id nullable (a person may have no Telegram). Today's
Telegram users are untouched: their Telegram identity stays users.telegram_id.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 22:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.alter_column("users", "telegram_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_table(
        "user_identities",
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint(
            "channel", "external_id", name="uq_user_identities_channel_external_id"
        ),
    )
    op.create_index(op.f("ix_user_identities_user_id"), "user_identities", ["user_id"])
    op.create_table(
        "link_codes",
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_link_codes")),
    )
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"])


def downgrade() -> None:
    """Refused while a user has no Telegram id: going back would have to delete people."""
    op.drop_table("link_codes")
    op.drop_table("user_identities")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM users WHERE telegram_id IS NULL) THEN "
        "RAISE EXCEPTION 'users without a Telegram id exist; delete them before downgrading'; "
        "END IF; END $$"
    )
    op.alter_column("users", "telegram_id", existing_type=sa.BigInteger(), nullable=False)
