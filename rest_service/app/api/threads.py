"""/api/threads and /api/messages: conversation threads, their history, and search."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic_core import to_json

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import MAX_LIMIT, PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import any_token
from rest_service.app.domain import (
    chat_messages,
    embeddings,
    thread_summaries,
    threads,
    turn_context,
)
from rest_service.app.models.base import AwareDatetime, Text
from rest_service.app.models.embedding import EmbeddingBatch
from rest_service.app.models.thread import (
    MessageBatch,
    MessageCreate,
    MessagePublic,
    SearchHit,
    ThreadCreate,
    ThreadPublic,
    ThreadReset,
    ThreadSummaryPublic,
    TurnBackground,
    TurnBackgroundQuery,
)
from rest_service.app.models.thread_summary import SummaryBacklog, SummaryWrite

router = APIRouter(tags=["threads"], responses=ERRORS, dependencies=[any_token])

ThreadKey = Annotated[str, Path(max_length=255, description="a thread's `thread_id`")]


@router.post(
    "/api/threads/",
    response_model=ThreadPublic,
    status_code=201,
    responses={200: {"model": ThreadPublic, "description": "the thread existed"}},
)
async def get_or_create_thread(
    ctx: UnitOfWorkDep, data: ThreadCreate, response: Response
) -> object:
    """The thread of a conversation (`user_id`: a user id, or `chat:<chat_id>` for a group)
    with an assistant: 201 when made, 200 when it existed; `last_used` is touched."""
    thread, made = await threads.get_or_create_thread(ctx, data)
    response.status_code = 201 if made else 200
    return thread


@router.post("/api/threads/context", response_model=TurnBackground)
async def get_turn_context(ctx: UnitOfWorkDep, data: TurnBackgroundQuery) -> object:
    """Everything a turn starts from, in one request: the conversation's thread (as
    `POST /api/threads/`), the sender's `profile` (`profile_id`, a user id; null when
    unknown), the `recent` window (as `.../messages/recent`) and, when `memory` is given,
    the long-term memory hits older than that window (as `/api/messages/search`)."""
    # Built as JSON from the rows (the shape `TurnBackground` documents): no model round trip.
    return Response(await turn_context.turn_context_json(ctx, data), media_type="application/json")


@router.get("/api/threads/", response_model=list[ThreadPublic])
async def list_threads(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    user_id: Annotated[Text | None, Query(max_length=255, description="conversation key")] = None,
    assistant_id: uuid.UUID | None = None,
) -> object:
    rows, total = await threads.list_threads(ctx, page, user_id, assistant_id)
    set_total(response, total)
    return rows


@router.post("/api/threads/reset", response_model=list[ThreadPublic])
async def reset_threads(ctx: UnitOfWorkDep, data: ThreadReset) -> object:
    """`/reset`: new `thread_id`s for the conversation's threads (one assistant's, if given).
    Older messages stay under their old `thread_id` and remain searchable."""
    return await threads.reset_threads(ctx, data)


@router.get("/api/threads/{thread}", response_model=ThreadPublic)
async def get_thread(
    ctx: UnitOfWorkDep, thread: Annotated[str, Path(max_length=255, description="id or thread_id")]
) -> object:
    return await threads.get_thread(ctx, thread)


@router.put("/api/threads/{thread_id}/embeddings", status_code=204)
async def store_embeddings(ctx: UnitOfWorkDep, thread_id: ThreadKey, data: EmbeddingBatch) -> None:
    """Vectors of stored messages (named by their `dedup_key`) by one embedding model, for
    recall by meaning; a key not stored in the thread is skipped, a repeat replaces."""
    await embeddings.store(ctx, thread_id, data)


@router.post(
    "/api/threads/{thread_id}/messages",
    response_model=MessagePublic | list[MessagePublic],
    status_code=201,
    responses={200: {"description": "every message was already stored (same dedup_key)"}},
)
async def append_messages(
    ctx: UnitOfWorkDep,
    thread_id: ThreadKey,
    data: MessageBatch | MessageCreate,
    prefer: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> object:
    """One message (answer: the message) or `{"messages": [...]}` (answer: the list), in
    order, in one statement. A message whose `dedup_key` is stored is not stored again.
    `Prefer: return=minimal` answers with the status only (no body)."""
    items = data.messages if isinstance(data, MessageBatch) else [data]
    stored, any_new = await chat_messages.append_messages(ctx, thread_id, items)
    status = 201 if any_new else 200
    if prefer is not None and "return=minimal" in prefer:
        return Response(status_code=status, headers={"Preference-Applied": "return=minimal"})
    # Built from the rows (the shape `MessagePublic` documents): no model round trip.
    body = stored if isinstance(data, MessageBatch) else stored[0]
    return Response(to_json(body), status_code=status, media_type="application/json")


@router.get("/api/threads/{thread_id}/messages", response_model=list[MessagePublic])
async def list_messages(
    ctx: UnitOfWorkDep, thread_id: ThreadKey, page: PageDep, response: Response
) -> object:
    """A page of the thread's history, oldest first."""
    rows, total = await chat_messages.list_messages(ctx, thread_id, page)
    set_total(response, total)
    return rows


@router.get("/api/threads/{thread_id}/messages/recent", response_model=list[MessagePublic])
async def recent_messages(
    ctx: UnitOfWorkDep,
    thread_id: ThreadKey,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    max_chars: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> object:
    """The newest messages within `limit` and `max_chars` (content plus tool calls),
    oldest first; the window never starts with an orphaned tool result."""
    return await chat_messages.recent_messages(ctx, thread_id, limit, max_chars)


@router.get("/api/threads/{thread_id}/summary/backlog", response_model=SummaryBacklog)
async def summary_backlog(
    ctx: UnitOfWorkDep,
    thread_id: ThreadKey,
    before_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> object:
    """The thread's running summary (null: none yet) and, oldest first, the messages it
    does not cover that are older than `before_id` (the recent window's oldest)."""
    return await thread_summaries.backlog(ctx, thread_id, before_id, limit)


@router.put("/api/threads/{thread_id}/summary", response_model=ThreadSummaryPublic)
async def write_summary(ctx: UnitOfWorkDep, thread_id: ThreadKey, data: SummaryWrite) -> object:
    """Replaces the running summary, only if the stored one still covers up to
    `previous_covers_message_id` (null: there is none yet); else 409 and it stays."""
    return await thread_summaries.write_summary(ctx, thread_id, data)


@router.get("/api/messages/search", response_model=list[SearchHit])
async def search_messages(
    ctx: UnitOfWorkDep,
    user_id: Annotated[Text, Query(min_length=1, max_length=255, description="conversation key")],
    q: Annotated[Text, Query(max_length=2000, description="words to look for")],
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
    before: Annotated[AwareDatetime | None, Query(description="only older messages")] = None,
    before_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    match: Literal["any", "all"] = "any",
) -> object:
    """Ranked full-text hits (Russian and English stemming) from this conversation's
    threads only, old ones included. `before`/`before_id` leave out the recent window;
    `match=any` ranks messages sharing any word, `all` needs every word (web syntax)."""
    return await chat_messages.search_messages(
        ctx, user_id, q, limit, before, before_id, match_all=match == "all"
    )
