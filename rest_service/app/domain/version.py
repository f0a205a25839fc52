"""The config version: one row, bumped in the transaction of every config write."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from rest_service.app.models.config_state import CONFIG_STATE_ID, ConfigState


async def current_version(session: AsyncSession) -> int:
    version = await session.scalar(
        select(col(ConfigState.version)).where(col(ConfigState.id) == CONFIG_STATE_ID)
    )
    return int(version or 0)


async def bump_version(session: AsyncSession) -> int:
    """+1 inside the caller's transaction; the row lock orders concurrent config writes."""
    stmt = (
        insert(ConfigState)
        .values(id=CONFIG_STATE_ID, version=1)
        .on_conflict_do_update(
            index_elements=[col(ConfigState.id)],
            set_={"version": col(ConfigState.version) + 1, "updated_at": func.now()},
        )
        .returning(col(ConfigState.version))
    )
    return int((await session.execute(stmt)).scalar_one())
