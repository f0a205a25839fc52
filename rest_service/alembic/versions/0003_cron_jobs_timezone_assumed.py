"""cron_jobs.timezone_assumed: the job's zone was assumed (the user had set none), so setting
a zone later offers to move it (docs/decisions/0014-time-zones-from-what-people-type.md)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'cron_jobs',
        sa.Column('timezone_assumed', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column('cron_jobs', 'timezone_assumed')
