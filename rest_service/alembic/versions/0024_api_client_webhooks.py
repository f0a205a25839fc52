"""API client webhooks in the outbox (decision 0061): each client's signing secret (kept
encrypted, like a subscription's), deliveries to a client, and the time a delivery's run of
retries began.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "webhook_deliveries"
BITRIX24_INDEX = "uq_webhook_deliveries_bitrix24_event"


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("webhook_secret_encrypted", sa.Text(), nullable=True))
    op.add_column(
        "api_clients",
        sa.Column(
            "webhook_secret_masked", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
        ),
    )
    op.add_column(TABLE, sa.Column("api_client_id", sa.Uuid(), nullable=True))
    op.add_column(
        TABLE,
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute(f"UPDATE {TABLE} SET queued_at = created_at")
    op.create_foreign_key(
        op.f("fk_webhook_deliveries_api_client_id_api_clients"),
        TABLE,
        "api_clients",
        ["api_client_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_webhook_deliveries_api_client_id"), TABLE, ["api_client_id"])
    op.create_unique_constraint(
        "uq_webhook_deliveries_api_client_event", TABLE, ["api_client_id", "event_id"]
    )
    # Bitrix24's deliveries are the ones without a subscription no longer: an API client's
    # have none either, and may share an event id with another client's.
    op.drop_index(BITRIX24_INDEX, table_name=TABLE)
    op.create_index(
        BITRIX24_INDEX,
        TABLE,
        ["event_id"],
        unique=True,
        postgresql_where=sa.text("target = 'bitrix24'"),
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE target = 'api_client'")
    op.drop_index(BITRIX24_INDEX, table_name=TABLE)
    op.create_index(
        BITRIX24_INDEX,
        TABLE,
        ["event_id"],
        unique=True,
        postgresql_where=sa.text("subscription_id IS NULL"),
    )
    op.drop_constraint("uq_webhook_deliveries_api_client_event", TABLE, type_="unique")
    op.drop_index(op.f("ix_webhook_deliveries_api_client_id"), table_name=TABLE)
    op.drop_constraint(
        op.f("fk_webhook_deliveries_api_client_id_api_clients"), TABLE, type_="foreignkey"
    )
    op.drop_column(TABLE, "queued_at")
    op.drop_column(TABLE, "api_client_id")
    op.drop_column("api_clients", "webhook_secret_masked")
    op.drop_column("api_clients", "webhook_secret_encrypted")
