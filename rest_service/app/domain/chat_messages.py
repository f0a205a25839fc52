"""A thread's messages: appended (deduplicated), read as a page or as the recent window,
and searched in full text within one conversation (long-term memory)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from common.infrastructure.errors import not_found
from common.infrastructure.wire import MessageRole
from rest_service.app.domain import experiments, sql
from rest_service.app.domain.common import is_foreign_key_violation, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork, autocommit
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


async def conversation_of(ctx: UnitOfWork, thread_id: str) -> str:
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


#: A turn's messages in one statement whatever their number (arrays, not N rows of VALUES:
#: one prepared statement), in order (ids follow `ord`), under the thread's conversation key
#: (its current thread, else an older one's). No row: the thread is unknown, or every
#: message was stored before (told apart only then, by `conversation_of`). `created_at` is
#: the clock's (as the ORM's Python default was), not the transaction's start.
_APPEND_SQL = (
    "INSERT INTO chat_messages (role, author, user_id, content, tool_calls, tool_call_id, "
    "name, model, tokens_in, tokens_out, latency_ms, dedup_key, experiment_variant_id, "
    "thread_id, conversation_key, created_at) "
    "SELECT v.role, v.author, v.user_id, v.content, v.tool_calls, v.tool_call_id, v.name, "
    "v.model, v.tokens_in, v.tokens_out, v.latency_ms, v.dedup_key, "
    "(SELECT id FROM experiment_variants WHERE id = v.variant), $14, k.key, "
    "clock_timestamp() "
    "FROM unnest($1::varchar[], $2::varchar[], $3::uuid[], $4::text[], $5::jsonb[], "
    "$6::varchar[], $7::varchar[], $8::varchar[], $9::int[], $10::int[], $11::int[], "
    "$12::varchar[], $13::uuid[]) WITH ORDINALITY AS v(role, author, user_id, content, "
    "tool_calls, tool_call_id, name, model, tokens_in, tokens_out, latency_ms, dedup_key, "
    "variant, ord) "
    "CROSS JOIN (SELECT COALESCE((SELECT user_id FROM user_assistant_threads "
    "WHERE thread_id = $14), (SELECT conversation_key FROM chat_messages "
    "WHERE thread_id = $14 LIMIT 1)) AS key) k "
    "WHERE k.key IS NOT NULL ORDER BY v.ord "
    f"ON CONFLICT (dedup_key) DO NOTHING RETURNING {sql.MESSAGE_COLUMNS}"
)
_BY_DEDUP_KEY_SQL = f"SELECT {sql.MESSAGE_COLUMNS} FROM chat_messages WHERE dedup_key = ANY($1)"
_FIELDS = (
    "role", "author", "user_id", "content", "tool_calls", "tool_call_id", "name", "model",
    "tokens_in", "tokens_out", "latency_ms", "dedup_key", "experiment_variant_id",
)  # fmt: skip


async def append_messages(
    ctx: UnitOfWork, thread_id: str, items: list[MessageCreate]
) -> tuple[list[dict[str, Any]], bool]:
    """In order, in one statement (so no transaction of its own: autocommit), as
    `MessagePublic` rows. True when at least one was new (201, else 200)."""
    await autocommit(ctx)
    conn = await ctx.session.connection()
    columns: list[list[Any]] = [[getattr(item, f) for item in items] for f in _FIELDS]
    columns[0] = [str(role) for role in columns[0]]
    columns[4] = [None if c is None else json.dumps(c) for c in columns[4]]
    try:
        made = await sql.rows(conn, _APPEND_SQL, (*columns, thread_id))
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise not_found("user", "given as user_id") from exc
        raise
    if not made:
        await conversation_of(ctx, thread_id)
    await experiments.record_assignments(conn, made)
    stored = await _in_item_order(conn, items, [sql.message(row) for row in made])
    return stored, bool(made)


async def _in_item_order(
    conn: AsyncConnection, items: list[MessageCreate], made: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The stored message of each item: its new row (ids follow the items' order), or the
    one stored under its `dedup_key` (earlier, or by an item before it in this batch)."""
    new_rows = sorted(made, key=lambda m: int(m["id"]))
    by_key = {m["dedup_key"]: m for m in new_rows if m["dedup_key"] is not None}
    missing = [i.dedup_key for i in items if i.dedup_key is not None and i.dedup_key not in by_key]
    if missing:
        found = await sql.rows(conn, _BY_DEDUP_KEY_SQL, (missing,))
        by_key.update({m["dedup_key"]: sql.message(m) for m in found})
    unkeyed = iter(m for m in new_rows if m["dedup_key"] is None)
    return [by_key[i.dedup_key] if i.dedup_key is not None else next(unkeyed) for i in items]


async def list_messages(
    ctx: UnitOfWork, thread_id: str, page: Page
) -> tuple[list[ChatMessage], int]:
    await conversation_of(ctx, thread_id)
    stmt = (
        select(ChatMessage)
        .where(col(ChatMessage.thread_id) == thread_id)
        .order_by(col(ChatMessage.id))
    )
    return await paged(ctx.session, stmt, page)


async def recent_messages(
    ctx: UnitOfWork, thread_id: str, limit: int, max_chars: int | None
) -> list[ChatMessage]:
    """The newest messages within `limit` and `max_chars`, oldest first. A window never
    starts with tool results whose call was cut off (chat completions refuse that)."""
    await conversation_of(ctx, thread_id)
    return await recent_window(ctx, thread_id, limit, max_chars)


async def recent_window(
    ctx: UnitOfWork, thread_id: str, limit: int, max_chars: int | None
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
    ctx: UnitOfWork,
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
    terms = tsquery(query, match_all)
    if terms is None:
        return []
    # A scalar subquery is an InitPlan: built once per statement. Inline, a generic plan of
    # the prepared statement rebuilds it for every row it filters (seconds in a big one).
    wanted = select(terms).scalar_subquery()
    newest = (
        select(col(ChatMessage.id))
        .where(
            col(ChatMessage.conversation_key) == conversation_key,
            col(ChatMessage.search_vector).op("@@")(wanted),
        )
        .order_by(col(ChatMessage.id).desc())
        .limit(SEARCH_DEPTH)
    )
    if before is not None:
        newest = newest.where(col(ChatMessage.created_at) < before)
    if before_id is not None:
        newest = newest.where(col(ChatMessage.id) < before_id)
    rank = func.ts_rank_cd(col(ChatMessage.search_vector), wanted).label("rank")
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


def tsquery(query: str, match_all: bool) -> ColumnElement[Any] | None:
    """The words of `query` as a `russian` tsquery: all of them (web search syntax) or any
    of them; None without a word. The catalogue searches the same way."""
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
