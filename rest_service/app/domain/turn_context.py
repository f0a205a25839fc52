"""A turn's context in one request: the conversation's thread (made if missing, `last_used`
touched), the sender's profile, the recent window and long-term memory hits. The assistant
used to ask for these in four requests; one costs a quarter of the round trips.

The busiest request of all, so its statements are plain SQL run on the driver
(`exec_driver_sql`: no ORM statement building, cache keys or row loading) and the answer is
built as JSON straight from the rows, in the shape of `TurnBackground` (tests pin it)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic_core import to_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from common.infrastructure.errors import not_found
from common.infrastructure.wire import PROFILE_FACTS_MAX, MessageRole
from rest_service.app.domain import embeddings
from rest_service.app.domain.chat_messages import _WORD, MAX_QUERY_WORDS, SEARCH_DEPTH
from rest_service.app.domain.common import is_foreign_key_violation
from rest_service.app.domain.sql import (
    MESSAGE_COLUMNS,
    USER_COLUMNS,
    children_as,
    fields,
    message,
    parent_and_children,
    prefixed,
    rows,
)
from rest_service.app.domain.threads import new_thread_id
from rest_service.app.domain.unit_of_work import UnitOfWork, autocommit
from rest_service.app.models.thread import TurnBackgroundQuery

_USER = USER_COLUMNS
_THREAD = "user_id, assistant_id, id, thread_id, last_used, created_at, updated_at"
_MESSAGE = MESSAGE_COLUMNS
_FACT = "id, user_id, text, created_at"
#: The profile with its facts in one statement (one round trip): one row per fact (`f_`
#: columns), or one with null `f_` columns when it has none or they were not asked for ($2).
_PROFILE_AND_FACTS_SQL = (
    f"SELECT {prefixed('u', _USER)}, {children_as('f', _FACT, 'f_')} "
    f"FROM users u LEFT JOIN LATERAL (SELECT {_FACT} "
    "FROM profile_facts WHERE $2 AND user_id = u.id "
    f"ORDER BY created_at, id LIMIT {PROFILE_FACTS_MAX}) f ON true "
    "WHERE u.id = $1 ORDER BY f.created_at, f.id"
)
_SUMMARY = "thread_id, conversation_key, content, covers_message_id, created_at, updated_at"
#: The thread's get-or-create, its running summary and its newest messages in one statement
#: (one round trip): one row per message (`m_` columns), or one with null `m_` columns for an
#: empty thread; the summary's `s_` columns are null when it has none.
_THREAD_AND_NEWEST_SQL = (
    "WITH t AS (INSERT INTO user_assistant_threads "
    "(id, user_id, assistant_id, thread_id, last_used, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp(), clock_timestamp()) "
    "ON CONFLICT ON CONSTRAINT uq_user_assistant_threads_pair DO UPDATE SET last_used = now() "
    f"RETURNING {_THREAD}), "
    f"s AS (SELECT {_SUMMARY} FROM thread_summaries WHERE thread_id = (SELECT thread_id FROM t)) "
    f"SELECT {prefixed('t', _THREAD)}, {children_as('s', _SUMMARY, 's_')}, "
    f"{children_as('m', _MESSAGE, 'm_')} "
    f"FROM t LEFT JOIN s ON true LEFT JOIN LATERAL (SELECT {_MESSAGE} FROM chat_messages "
    "WHERE thread_id = t.thread_id ORDER BY id DESC LIMIT $5) m ON true ORDER BY m.id DESC"
)
_THREAD_FIELDS = fields(_THREAD)
_USER_FIELDS = fields(_USER)
_FACT_FIELDS = fields(_FACT)
_MESSAGE_FIELDS = fields(_MESSAGE)
_SUMMARY_FIELDS = fields(_SUMMARY)
_CONFIG = "'russian'::regconfig"


async def turn_context_json(ctx: UnitOfWork, query: TurnBackgroundQuery) -> bytes:
    """`TurnBackground` as JSON. A blocked profile gets no thread (`thread` null): it will not
    be answered."""
    # Each statement stands alone (the upsert is the only write), so no BEGIN/COMMIT round
    # trips: a third fewer for the busiest request.
    await autocommit(ctx)
    conn = await ctx.session.connection()
    profile: dict[str, Any] | None = None
    facts: list[dict[str, Any]] = []
    if query.profile_id:
        profile, facts = await _profile_and_facts(conn, query.profile_id, query.facts)
    if profile is not None and profile["blocked"]:
        return _context(None, profile, [], [], [])
    thread, summary, newest = await _thread_and_newest(conn, query)
    recent = _recent_window(newest, query.max_chars)
    memory: list[dict[str, Any]] = []
    if query.memory is not None:
        oldest = min((m["id"] for m in recent), default=None)
        bounds = embeddings.Bounds(
            ctx.settings.recall_scan_depth, ctx.settings.recall_min_similarity
        )
        memory = await _search(
            conn, query.user_id, query.memory.q, query.memory.limit, oldest,
            match_all=query.memory.match == "all",
        )  # fmt: skip
        memory = await _with_meaning(conn, query, memory, oldest, bounds)
    near = await _facts_by_meaning(conn, query, facts, ctx.settings.recall_min_similarity)
    return _context(thread, profile, recent, memory, facts, summary, near)


async def _facts_by_meaning(
    conn: AsyncConnection,
    query: TurnBackgroundQuery,
    facts: list[dict[str, Any]],
    min_similarity: float,
) -> dict[str, list[uuid.UUID]]:
    """The profile's facts nearest in meaning to the question (`recalled_facts`) and those
    without a vector of its model yet (`unembedded_facts`, for the assistant to embed), when
    the question came with its embedding and the facts were asked for."""
    wanted = query.memory
    if not facts or wanted is None or wanted.vector is None or wanted.model is None:
        return {}
    assert query.profile_id is not None  # facts are the profile's
    pgvector = await embeddings.has_pgvector(conn)
    recalled = await embeddings.recall_facts(
        conn, query.profile_id, wanted.model, wanted.vector, wanted.limit, min_similarity,
        pgvector=pgvector,
    )  # fmt: skip
    missing = await embeddings.unembedded_facts(conn, query.profile_id, wanted.model)
    return {"recalled_facts": recalled, "unembedded_facts": missing}


async def _with_meaning(
    conn: AsyncConnection,
    query: TurnBackgroundQuery,
    found: list[dict[str, Any]],
    oldest: int | None,
    bounds: embeddings.Bounds,
) -> list[dict[str, Any]]:
    """The full-text hits fused with the messages nearest in meaning, when the question
    came with its embedding."""
    wanted = query.memory
    if wanted is None or wanted.vector is None or wanted.model is None:
        return found
    near = await embeddings.recall(
        conn, query.user_id, wanted.model, wanted.vector, wanted.limit, oldest, bounds,
        pgvector=await embeddings.has_pgvector(conn),
    )  # fmt: skip
    return embeddings.fuse([found, near], wanted.limit)


async def _profile_and_facts(
    conn: AsyncConnection, profile_id: uuid.UUID, with_facts: bool
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The profile (None when missing) and, when asked, its facts oldest first."""
    found = await rows(conn, _PROFILE_AND_FACTS_SQL, (profile_id, with_facts))
    if not found:
        return None, []
    return parent_and_children(found, _USER_FIELDS, _FACT_FIELDS, "f_")


def _context(
    thread: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    recent: list[dict[str, Any]],
    memory: list[dict[str, Any]],
    facts: list[dict[str, Any]],
    summary: dict[str, Any] | None = None,
    near: dict[str, list[uuid.UUID]] | None = None,
) -> bytes:
    body = {"thread": thread, "profile": profile, "recent": recent, "memory": memory}
    nearest = {"recalled_facts": [], "unembedded_facts": [], **(near or {})}
    return to_json({**body, "facts": facts, "summary": summary, **nearest})


async def _thread_and_newest(
    conn: AsyncConnection, query: TurnBackgroundQuery
) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
    """Get-or-create in one statement with the running summary (None: none yet) and the
    newest `limit` messages, newest first; the foreign key stands for the assistant's
    lookup."""
    params = (uuid.uuid4(), query.user_id, query.assistant_id, new_thread_id(), query.limit)
    try:
        found = await rows(conn, _THREAD_AND_NEWEST_SQL, params)
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise not_found("assistant", query.assistant_id) from exc
        raise
    thread, newest = parent_and_children(found, _THREAD_FIELDS, _MESSAGE_FIELDS, "m_")
    first = found[0]
    summary = (
        None if first["s_thread_id"] is None else {c: first[f"s_{c}"] for c in _SUMMARY_FIELDS}
    )
    return thread, summary, [message(row) for row in newest]


def _recent_window(newest: list[dict[str, Any]], max_chars: int | None) -> list[dict[str, Any]]:
    """As `messages.recent_window`: the newest within `limit` and `max_chars` (content plus
    tool calls), oldest first, never starting with an orphaned tool result."""
    window: list[dict[str, Any]] = []
    used = 0
    for row in newest:
        calls = row["tool_calls"]
        used += len(row["content"] or "") + (len(str(calls)) if calls else 0)
        if max_chars is not None and used > max_chars:
            break
        window.append(row)
    window.reverse()
    while window and window[0]["role"] == MessageRole.tool:
        window.pop(0)
    return window


async def _search(
    conn: AsyncConnection,
    conversation_key: str,
    query: str,
    limit: int,
    before_id: int | None,
    match_all: bool,
) -> list[dict[str, Any]]:
    """As `messages.search_messages` (the same statement, without `before`)."""
    words = _WORD.findall(query)[:MAX_QUERY_WORDS]
    if not words:
        return []
    terms: list[Any] = [query] if match_all else words
    if match_all:
        tsquery = f"websearch_to_tsquery({_CONFIG}, $1)"
    else:
        tsquery = " || ".join(f"plainto_tsquery({_CONFIG}, ${i + 1})" for i in range(len(words)))
    # A scalar subquery is an InitPlan: built once per statement (see search_messages).
    tsquery = f"(SELECT {tsquery})"
    n = len(terms)
    older = f" AND id < ${n + 2}" if before_id is not None else ""
    sql = (
        f"SELECT {prefixed('m', _MESSAGE)}, ts_rank_cd(m.search_vector, {tsquery}) AS rank "
        f"FROM chat_messages m JOIN (SELECT id FROM chat_messages "
        f"WHERE conversation_key = ${n + 1} AND search_vector @@ {tsquery}{older} "
        f"ORDER BY id DESC LIMIT {SEARCH_DEPTH}) c ON m.id = c.id "
        f"ORDER BY rank DESC, m.id DESC LIMIT {int(limit)}"
    )
    params = [*terms, conversation_key, *([before_id] if before_id is not None else [])]
    return [message(row) for row in await rows(conn, sql, params)]
