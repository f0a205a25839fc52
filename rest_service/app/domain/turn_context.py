"""A turn's context in one request: the conversation's thread (made if missing, `last_used`
touched), the sender's profile, the recent window and long-term memory hits. The assistant
used to ask for these in four requests; one costs a quarter of the round trips."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from common.errors import not_found
from rest_service.app.domain import messages
from rest_service.app.domain.common import is_foreign_key_violation
from rest_service.app.domain.profile_facts import all_facts
from rest_service.app.domain.threads import upsert_thread
from rest_service.app.domain.unit_of_work import Ctx, autocommit
from rest_service.app.models.thread import (
    TurnContext,
    TurnContextQuery,
    UserAssistantThread,
)
from rest_service.app.models.user import User


async def turn_context(ctx: Ctx, query: TurnContextQuery) -> TurnContext:
    """A blocked profile gets no thread (`thread` null): it will not be answered."""
    # Each statement stands alone (the upsert is the only write), so no BEGIN/COMMIT round
    # trips: a third fewer for the busiest request.
    await autocommit(ctx)
    profile = await ctx.session.get(User, query.profile_id) if query.profile_id else None
    if profile is not None and profile.blocked:
        return _context(None, profile, [], [], [])
    thread = await _thread(ctx, query)
    recent = await messages.recent_window(ctx, thread.thread_id, query.limit, query.max_chars)
    memory = []
    if query.memory is not None:
        oldest = min((m.id for m in recent if m.id is not None), default=None)
        memory = await messages.search_messages(
            ctx,
            query.user_id,
            query.memory.q,
            query.memory.limit,
            None,
            oldest,
            match_all=query.memory.match == "all",
        )
    facts = await all_facts(ctx, profile.id) if query.facts and profile is not None else []
    return _context(thread, profile, recent, memory, facts)


def _context(
    thread: object, profile: object, recent: list[Any], memory: list[Any], facts: list[Any]
) -> TurnContext:
    return TurnContext.model_validate(
        {"thread": thread, "profile": profile, "recent": recent, "memory": memory, "facts": facts},
        from_attributes=True,
    )


async def _thread(ctx: Ctx, query: TurnContextQuery) -> UserAssistantThread:
    """Get-or-create in one statement; the foreign key stands for the assistant's lookup."""
    stmt = (
        upsert_thread(query.user_id, query.assistant_id)
        .returning(UserAssistantThread)
        .execution_options(populate_existing=True)
    )
    try:
        thread = await ctx.session.scalar(stmt)
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise not_found("assistant", query.assistant_id) from exc
        raise
    assert thread is not None
    return thread
