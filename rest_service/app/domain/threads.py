"""Threads: one per (conversation key, assistant), with an emulated `thread_id` that
`/reset` replaces (design note 003)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnClause, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlmodel import col

from common.infrastructure.errors import not_found
from rest_service.app.domain.common import get_or_404, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.thread import ThreadCreate, ThreadReset, UserAssistantThread

KIND = "thread"
#: A new emulated thread id, made by Postgres so a reset of many rows is one statement.
_NEW_THREAD_ID: ColumnClause[str] = literal_column(
    "'thread_' || replace(gen_random_uuid()::text, '-', '')"
)


def new_thread_id() -> str:
    return f"thread_{uuid.uuid4().hex}"


def upsert_thread(user_id: str, assistant_id: uuid.UUID) -> Insert:
    """Get-or-create the pair's row in one statement, touching `last_used`; the caller
    chooses what it returns."""
    return (
        insert(UserAssistantThread)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            assistant_id=assistant_id,
            thread_id=new_thread_id(),
        )
        .on_conflict_do_update(
            constraint="uq_user_assistant_threads_pair", set_={"last_used": func.now()}
        )
    )


async def get_or_create_thread(
    ctx: UnitOfWork, data: ThreadCreate
) -> tuple[UserAssistantThread, bool]:
    """One row per pair even under concurrent calls; `last_used` is touched every time."""
    await get_or_404(ctx.session, Assistant, data.assistant_id, "assistant")
    made: ColumnClause[bool] = literal_column("xmax = 0")
    stmt = upsert_thread(data.user_id, data.assistant_id).returning(
        col(UserAssistantThread.id), made.label("made")
    )
    row = (await ctx.session.execute(stmt)).one()
    thread = await ctx.session.get(UserAssistantThread, row.id, populate_existing=True)
    assert thread is not None
    return thread, bool(row.made)


async def list_threads(
    ctx: UnitOfWork, page: Page, user_id: str | None, assistant_id: uuid.UUID | None
) -> tuple[list[UserAssistantThread], int]:
    stmt = select(UserAssistantThread).order_by(
        col(UserAssistantThread.last_used).desc(), col(UserAssistantThread.id)
    )
    if user_id is not None:
        stmt = stmt.where(col(UserAssistantThread.user_id) == user_id)
    if assistant_id is not None:
        stmt = stmt.where(col(UserAssistantThread.assistant_id) == assistant_id)
    return await paged(ctx.session, stmt, page)


async def get_thread(ctx: UnitOfWork, key: str) -> UserAssistantThread:
    """By the row's id or by its current `thread_id`."""
    condition = col(UserAssistantThread.thread_id) == key
    row_id = _as_uuid(key)
    if row_id is not None:
        condition = or_(condition, col(UserAssistantThread.id) == row_id)
    thread = await ctx.session.scalar(select(UserAssistantThread).where(condition))
    if thread is None:
        raise not_found(KIND, key)
    return thread


async def reset_threads(ctx: UnitOfWork, data: ThreadReset) -> list[UserAssistantThread]:
    """New `thread_id`s for the conversation (or its thread with one assistant)."""
    stmt = update(UserAssistantThread).where(col(UserAssistantThread.user_id) == data.user_id)
    if data.assistant_id is not None:
        await get_or_404(ctx.session, Assistant, data.assistant_id, "assistant")
        stmt = stmt.where(col(UserAssistantThread.assistant_id) == data.assistant_id)
    stmt = (
        stmt.values(thread_id=_NEW_THREAD_ID, last_used=func.now(), updated_at=func.now())
        .returning(col(UserAssistantThread.id))
        .execution_options(synchronize_session=False)
    )
    ids = (await ctx.session.scalars(stmt)).all()
    rows = await ctx.session.scalars(
        select(UserAssistantThread)
        .where(col(UserAssistantThread.id).in_(ids))
        .order_by(col(UserAssistantThread.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
