"""bots: several bots in one deployment, each speaking as one assistant, its token
encrypted at rest.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 15:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=True),
        sa.Column("allowed_user_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("telegram_bot_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "telegram_username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("token_masked", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["assistant_id"], ["assistants.id"], name=op.f("fk_bots_assistant_id_assistants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bots")),
        sa.UniqueConstraint("name", name="uq_bots_name"),
        sa.UniqueConstraint("telegram_bot_id", name="uq_bots_telegram_bot_id"),
    )  # fmt: skip
    # a reminder or briefing fires through the bot whose conversation made it
    op.add_column("cron_jobs", sa.Column("bot_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_cron_jobs_bot_id"), "cron_jobs", ["bot_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_cron_jobs_bot_id_bots"), "cron_jobs", "bots", ["bot_id"], ["id"],
        ondelete="CASCADE",
    )  # fmt: skip


def downgrade() -> None:
    op.drop_constraint(op.f("fk_cron_jobs_bot_id_bots"), "cron_jobs", type_="foreignkey")
    op.drop_index(op.f("ix_cron_jobs_bot_id"), table_name="cron_jobs")
    op.drop_column("cron_jobs", "bot_id")
    op.drop_table("bots")
