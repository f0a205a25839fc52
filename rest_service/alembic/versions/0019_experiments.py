"""Live experiments: experiments, experiment_variants, experiment_assignments; the arm on
each answer (chat_messages.experiment_variant_id); model prices for the experiments' cost.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 18:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "experiments",
        _now("created_at"),
        _now("updated_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running", "stopped", "promoted",
                name="experimentstatus", native_enum=False, length=16,
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("winner_variant_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_experiments_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    op.create_index(op.f("ix_experiments_assistant_id"), "experiments", ["assistant_id"])
    op.create_index(
        "uq_experiments_one_running",
        "experiments",
        ["assistant_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "experiment_variants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_variants_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_variants")),
        sa.UniqueConstraint("experiment_id", "name", name="uq_experiment_variants_name"),
        sa.UniqueConstraint("experiment_id", "position", name="uq_experiment_variants_position"),
    )
    op.create_table(
        "experiment_assignments",
        _now("created_at"),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("variant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_assignments_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_experiment_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["experiment_variants.id"],
            name=op.f("fk_experiment_assignments_variant_id_experiment_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "user_id", name=op.f("pk_experiment_assignments")),
    )
    op.create_index(
        op.f("ix_experiment_assignments_variant_id"), "experiment_assignments", ["variant_id"]
    )
    op.add_column("chat_messages", sa.Column("experiment_variant_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_chat_messages_experiment_variant_id_experiment_variants"),
        "chat_messages",
        "experiment_variants",
        ["experiment_variant_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("llm_models", sa.Column("input_price", sa.Float(), nullable=True))
    op.add_column("llm_models", sa.Column("output_price", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("llm_models", "output_price")
    op.drop_column("llm_models", "input_price")
    op.drop_constraint(
        op.f("fk_chat_messages_experiment_variant_id_experiment_variants"),
        "chat_messages",
        type_="foreignkey",
    )
    op.drop_column("chat_messages", "experiment_variant_id")
    op.drop_index(op.f("ix_experiment_assignments_variant_id"), "experiment_assignments")
    op.drop_table("experiment_assignments")
    op.drop_table("experiment_variants")
    op.drop_index("uq_experiments_one_running", "experiments")
    op.drop_index(op.f("ix_experiments_assistant_id"), "experiments")
    op.drop_table("experiments")
