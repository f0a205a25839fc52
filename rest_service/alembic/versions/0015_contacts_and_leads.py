"""contacts (a customer's details for one business, with the consent they gave) and leads
(a conversation that showed interest, one open per customer and business); tool types
`contact` and `lead`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    ]


def upgrade() -> None:
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'contact'")
    op.execute("ALTER TYPE tool_type ADD VALUE IF NOT EXISTS 'lead'")
    op.create_table(
        "contacts",
        *_timestamps(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contacts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_contacts_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("user_id", "assistant_id", name="uq_contacts_user_assistant"),
    )
    op.create_index(op.f("ix_contacts_user_id"), "contacts", ["user_id"])
    op.create_index(op.f("ix_contacts_assistant_id"), "contacts", ["assistant_id"])
    op.create_table(
        "leads",
        *_timestamps(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "items",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("bot", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("start_payload", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "in_progress",
                "won",
                "lost",
                name="leadstatus",
                native_enum=False,
                create_constraint=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_leads_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_leads_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_leads_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index(op.f("ix_leads_user_id"), "leads", ["user_id"])
    op.create_index(
        "uq_leads_open_per_customer",
        "leads",
        ["user_id", "assistant_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('new', 'in_progress')"),
    )
    op.create_index("ix_leads_assistant_id_created_at", "leads", ["assistant_id", "created_at"])
    op.create_index("ix_leads_status_created_at", "leads", ["status", "created_at"])


def downgrade() -> None:
    # Postgres cannot drop an enum value; `contact` and `lead` stay, unused, in tool_type.
    op.drop_table("leads")
    op.drop_table("contacts")
