"""calendar_credentials.account, is_default: a user may connect several Google accounts (work
and personal); one of them is the default (docs/decisions/0064-several-google-accounts.md).

Rows are keyed by (user, status, account). Existing active rows stay as their user's default
account; their `account` is "" until rest_service first reads them and copies the address from
the encrypted credentials (the migration has no key to decrypt them). Still at most one pending
row per user, and at most one default.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "calendar_credentials"


def upgrade() -> None:
    op.add_column(
        TABLE, sa.Column("account", sa.String(length=320), server_default="", nullable=False)
    )
    op.add_column(
        TABLE, sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False)
    )
    op.execute(f"UPDATE {TABLE} SET is_default = true WHERE status = 'active'")
    op.drop_constraint("uq_calendar_credentials_user_id_status", TABLE, type_="unique")
    op.create_unique_constraint(
        "uq_calendar_credentials_user_id_status_account", TABLE, ["user_id", "status", "account"]
    )
    op.create_index(
        "uq_calendar_credentials_one_pending",
        TABLE,
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_calendar_credentials_one_default",
        TABLE,
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    # One connection per user again: the default account stays.
    op.execute(f"DELETE FROM {TABLE} WHERE status = 'active' AND NOT is_default")
    op.drop_index("uq_calendar_credentials_one_default", table_name=TABLE)
    op.drop_index("uq_calendar_credentials_one_pending", table_name=TABLE)
    op.drop_constraint("uq_calendar_credentials_user_id_status_account", TABLE, type_="unique")
    op.create_unique_constraint(
        "uq_calendar_credentials_user_id_status", TABLE, ["user_id", "status"]
    )
    op.drop_column(TABLE, "is_default")
    op.drop_column(TABLE, "account")
