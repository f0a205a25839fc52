"""A thread's messages: appended (deduplicated), read as a page or as the recent window,
and searched in full text within one conversation (long-term memory)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.errors import not_found
from common.wire import MessageRole
from rest_service.app.domain.common import is_foreign_key_violation, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import Ctx
from rest_service.app.models.thread import (
    ChatMessage,
    MessageCreate,
    MessagePublic,
    SearchHit,
    UserAssistantThread,
)

#: Words of a query that count (a sentence of long-term memory is enough).
MAX_QUERY_WORDS = 32
#: Matches of a search that are ranked, newest first (the rest are older than memory needs).
SEARCH_DEPTH = 1000
_WORD = re.compile(r"\w+")
_CONFIG: ColumnClause[Any] = literal_column("'russian'::regconfig")


async def conversation_of(ctx: Ctx, thread_id: str) -> str:
    """The conversation key of a current thread, or of an older one (before a /reset)."""
    key = await ctx.session.scalar(
        select(col(UserAssistantThread.user_id)).where(
            col(UserAssistantThread.thread_id) == thread_id
        )
    )
    if key is None:
        key = await ctx.session.scalar(
            select(col(ChatMessage.conversation_key))
            .where(col(ChatMessage.thread_id) == thread_id)
            .limit(1)
        )
    if key is None:
        raise not_found("thread", thread_id)
    return key


async def append_messages(
    ctx: Ctx, thread_id: str, items: list[MessageCreate]
) -> tuple[list[ChatMessage], bool]:
    """In order, in one transaction and one INSERT. True when at least one was new (201,
    else 200)."""
    key = await conversation_of(ctx, thread_id)
    values = [
        {**item.model_dump(), "thread_id": thread_id, "conversation_key": key} for item in items
    ]
    stmt = (
        insert(ChatMessage)
        .values(values)
        .on_conflict_do_nothing(index_elements=[col(ChatMessage.dedup_key)])
        .returning(ChatMessage)
    )
    try:
        made = (await ctx.session.scalars(stmt)).all()
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise not_found("user", "given as user_id") from exc
        raise
    stored = await _in_item_order(ctx, items, made)
    return stored, bool(made)


async def _in_item_order(
    ctx: Ctx, items: list[MessageCreate], made: Sequence[ChatMessage]
) -> list[ChatMessage]:
    """The stored message of each item: its new row (ids follow the VALUES order), or the
    one stored under its `dedup_key` (earlier, or by an item before it in this batch)."""
    new_rows = sorted(made, key=lambda m: m.id or 0)
    by_key = {m.dedup_key: m for m in new_rows if m.dedup_key is not None}
    missing = [i.dedup_key for i in items if i.dedup_key is not None and i.dedup_key not in by_key]
    if missing:
        rows = await ctx.session.scalars(
            select(ChatMessage).where(col(ChatMessage.dedup_key).in_(missing))
        )
        by_key.update({m.dedup_key: m for m in rows if m.dedup_key is not None})
    unkeyed = iter(m for m in new_rows if m.dedup_key is None)
    return [by_key[i.dedup_key] if i.dedup_key is not None else next(unkeyed) for i in items]


async def list_messages(ctx: Ctx, thread_id: str, page: Page) -> tuple[list[ChatMessage], int]:
    await conversation_of(ctx, thread_id)
    stmt = (
        select(ChatMessage)
        .where(col(ChatMessage.thread_id) == thread_id)
        .order_by(col(ChatMessage.id))
    )
    return await paged(ctx.session, stmt, page)


async def recent_messages(
    ctx: Ctx, thread_id: str, limit: int, max_chars: int | None
) -> list[ChatMessage]:
    """The newest messages within `limit` and `max_chars`, oldest first. A window never
    starts with tool results whose call was cut off (chat completions refuse that)."""
    await conversation_of(ctx, thread_id)
    return await recent_window(ctx, thread_id, limit, max_chars)


async def recent_window(
    ctx: Ctx, thread_id: str, limit: int, max_chars: int | None
) -> list[ChatMessage]:
    """`recent_messages` of a thread known to exist."""
    newest = (
        await ctx.session.scalars(
            select(ChatMessage)
            .where(col(ChatMessage.thread_id) == thread_id)
            .order_by(col(ChatMessage.id).desc())
            .limit(limit)
        )
    ).all()
    window: list[ChatMessage] = []
    used = 0
    for message in newest:
        used += _size(message)
        if max_chars is not None and used > max_chars:
            break
        window.append(message)
    window.reverse()
    while window and window[0].role == MessageRole.tool:
        window.pop(0)
    return window


async def search_messages(
    ctx: Ctx,
    conversation_key: str,
    query: str,
    limit: int,
    before: datetime | None,
    before_id: int | None,
    match_all: bool,
) -> list[SearchHit]:
    """Ranked full-text hits from one conversation's threads, old threads included: the
    newest `SEARCH_DEPTH` matches ranked, so a conversation of 100 000 messages costs no
    more than one of a thousand."""
    terms = _tsquery(query, match_all)
    if terms is None:
        return []
    # A scalar subquery is an InitPlan: built once per statement. Inline, a generic plan of
    # the prepared statement rebuilds it for every row it filters (seconds in a big one).
    tsquery = select(terms).scalar_subquery()
    newest = (
        select(col(ChatMessage.id))
        .where(
            col(ChatMessage.conversation_key) == conversation_key,
            col(ChatMessage.search_vector).op("@@")(tsquery),
        )
        .order_by(col(ChatMessage.id).desc())
        .limit(SEARCH_DEPTH)
    )
    if before is not None:
        newest = newest.where(col(ChatMessage.created_at) < before)
    if before_id is not None:
        newest = newest.where(col(ChatMessage.id) < before_id)
    rank = func.ts_rank_cd(col(ChatMessage.search_vector), tsquery).label("rank")
    candidates = newest.subquery()
    stmt = (
        select(ChatMessage, rank)
        .join(candidates, col(ChatMessage.id) == candidates.c.id)
        .order_by(rank.desc(), col(ChatMessage.id).desc())
        .limit(limit)
    )
    rows = (await ctx.session.execute(stmt)).all()
    return [
        SearchHit.model_validate({**MessagePublic.model_validate(m).model_dump(), "rank": r})
        for m, r in rows
    ]


def _tsquery(query: str, match_all: bool) -> ColumnElement[Any] | None:
    words = _WORD.findall(query)[:MAX_QUERY_WORDS]
    if not words:
        return None
    if match_all:
        return func.websearch_to_tsquery(_CONFIG, query)
    combined: ColumnElement[Any] = func.plainto_tsquery(_CONFIG, words[0])
    for word in words[1:]:
        combined = combined.op("||")(func.plainto_tsquery(_CONFIG, word))
    return combined


def _size(message: ChatMessage) -> int:
    calls = len(str(message.tool_calls)) if message.tool_calls else 0
    return len(message.content or "") + calls
