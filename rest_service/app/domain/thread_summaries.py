"""A thread's running summary: read with the messages it does not cover yet, and replaced
only by a summary made from the stored one (a conditional update keyed on the newest message
it covers), so two assistant replicas never overwrite each other's newer work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.errors import conflict
from rest_service.app.domain.chat_messages import conversation_of
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.thread_summary import SummaryWrite, ThreadSummary


async def summary_of(ctx: UnitOfWork, thread_id: str) -> ThreadSummary | None:
    return await ctx.session.get(ThreadSummary, thread_id)


async def backlog(
    ctx: UnitOfWork, thread_id: str, before_id: int | None, limit: int
) -> dict[str, Any]:
    """The stored summary and, oldest first, up to `limit` messages after it and before
    `before_id` (the recent window's oldest: what the window shows needs no summary)."""
    await conversation_of(ctx, thread_id)
    summary = await summary_of(ctx, thread_id)
    stmt = select(ChatMessage).where(col(ChatMessage.thread_id) == thread_id)
    if summary is not None:
        stmt = stmt.where(col(ChatMessage.id) > summary.covers_message_id)
    if before_id is not None:
        stmt = stmt.where(col(ChatMessage.id) < before_id)
    messages = (await ctx.session.scalars(stmt.order_by(col(ChatMessage.id)).limit(limit))).all()
    return {"summary": summary, "messages": list(messages)}


async def write_summary(ctx: UnitOfWork, thread_id: str, data: SummaryWrite) -> ThreadSummary:
    """Stores the summary if the stored one is still `previous_covers_message_id` (none for
    a first); otherwise another writer was first: a conflict, and the stored one stays."""
    key = await conversation_of(ctx, thread_id)
    if data.covers_message_id <= (data.previous_covers_message_id or 0):
        raise conflict("a summary must cover newer messages than the one it replaces")
    values = {
        "thread_id": thread_id,
        "conversation_key": key,
        "content": data.content,
        "covers_message_id": data.covers_message_id,
    }
    table = ThreadSummary.__table__  # type: ignore[attr-defined]
    stmt: Any
    if data.previous_covers_message_id is None:
        stmt = insert(table).values(values).on_conflict_do_nothing()
    else:
        stmt = (
            update(table)
            .where(
                table.c.thread_id == thread_id,
                table.c.covers_message_id == data.previous_covers_message_id,
            )
            .values(**values, updated_at=func.clock_timestamp())
        )
    stored = (await ctx.session.execute(stmt.returning(table.c.thread_id))).first()
    if stored is None:
        raise conflict("the summary changed since it was read")
    await ctx.session.flush()
    summary = await ctx.session.get(ThreadSummary, thread_id, populate_existing=True)
    assert summary is not None
    return summary


async def forget_summaries(ctx: UnitOfWork, user_id: uuid.UUID, keys: ColumnElement[bool]) -> None:
    """/forget: the summaries of the conversations `keys` matches (a condition on the
    conversation key) and of every thread the user wrote in, groups included (a group's
    summary may hold their words). Run before their messages go."""
    wrote_in = select(col(ChatMessage.thread_id)).where(col(ChatMessage.user_id) == user_id)
    await ctx.session.execute(
        delete(ThreadSummary).where(or_(keys, col(ThreadSummary.thread_id).in_(wrote_in)))
    )
