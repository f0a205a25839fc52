"""A held tool call the user said Yes to (`tools/outside.py`, `common/features/confirmations.py`):
taken once, run exactly as the model made it (same tool of the same assistant, same
arguments, same idempotency key), for the same user in the same chat, and answered with what
was done. No model is asked; the Yes and its outcome go into the secretary's thread, so the
next turn's model knows the call was made."""

from __future__ import annotations

import json
import uuid

from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.llm_chat import fetch_context
from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.clients.llm import ToolCall
from assistant.src.live_config.snapshot import find_assistant
from assistant.src.tools.base import Actor, ToolCallOrigin
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestServiceUnavailable
from common.infrastructure.text import escape_markdown
from common.infrastructure.wire import MessageIn, MessageRole, SnapshotAssistant

log = get_logger(__name__)

#: How much of a failed call's reason the user reads.
_ERROR_CHARS = 300


async def run_confirmed(
    token: str, actor: Actor, factory: AssistantFactory, confirmations: Confirmations
) -> str:
    """The answer to the Yes: what was done, why it could not be, or that it was done or
    dropped already."""
    language = actor.language
    held = await confirmations.peek(token)
    if not _owned(held, actor) or await confirmations.take(token) is None:
        log.info("confirmed_call_gone")
        return CATALOGUE.text(language, "confirmed_gone")
    assert isinstance(held, HeldCall)
    what = escape_markdown(held.summary)
    spec = _assistant(factory, held.assistant_id)
    if spec is None:
        return CATALOGUE.text(language, "confirmed_failed", error="the assistant is gone")
    call = ToolCall(f"confirmed-{token[:12]}", held.tool, json.dumps(held.arguments))
    context = ToolCallOrigin(
        actor, held.message_id, spec.id, held.position, depth=0, confirmed=True
    )
    try:
        await factory.prepare(spec)
        outcome = await factory.toolbox(spec).run(call, context)
    except RestServiceUnavailable:
        await confirmations.restore(token, held)  # the retry of this message runs it
        raise
    log.info("confirmed_call_run", tool=held.tool[:64], ok=outcome.ok)
    if outcome.ok and held.fact:
        answer = CATALOGUE.text(language, "remembered", fact=escape_markdown(held.fact))
    elif outcome.ok:
        answer = CATALOGUE.text(language, "confirmed_done", what=what)
    else:
        error = escape_markdown((outcome.error or "")[:_ERROR_CHARS])
        answer = CATALOGUE.text(language, "confirmed_failed", error=error)
    await _note(factory, actor, token, held, answer)
    return answer


async def _note(
    factory: AssistantFactory, actor: Actor, token: str, held: HeldCall, answer: str
) -> None:
    """The Yes and what came of it, in the answering assistant's thread of this
    conversation."""
    secretary = factory.speaker
    if secretary is None:
        return
    start = await fetch_context(factory.deps, secretary.id, actor.conversation_key, None)
    if start.thread is None:
        return
    user_id = uuid.UUID(actor.stored_user_id) if actor.stored_user_id else None
    author = actor.label if actor.is_group else None
    said = MessageIn(
        role=MessageRole.user,
        content=f"Yes: {held.summary}",
        author=author,
        user_id=user_id if author else None,
        dedup_key=f"confirmed:{token}:0",
    )
    done = MessageIn(
        role=MessageRole.assistant,
        content=answer,
        user_id=user_id,
        dedup_key=f"confirmed:{token}:answer",
    )
    await factory.deps.rest.store_messages(start.thread.thread_id, [said, done])


def _owned(held: object, actor: Actor) -> bool:
    """A held call of this user, asked in this chat (tg_bot checked the presser too)."""
    return (
        isinstance(held, HeldCall)
        and held.user_id == actor.user_id
        and held.chat_id == actor.chat_id
    )


def _assistant(factory: AssistantFactory, assistant_id: str) -> SnapshotAssistant | None:
    try:
        return find_assistant(factory.snapshot, uuid.UUID(assistant_id))
    except ValueError:
        return None
