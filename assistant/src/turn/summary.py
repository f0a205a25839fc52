"""The thread's running summary, kept after the answer is out: when the messages before the
recent window that the summary does not cover yet reach SUMMARY_AFTER_MESSAGES, the thread's
assistant's model folds them and the previous summary into a new one, stored in rest_service.

Never on the answer's path: one background task per thread in this replica, a Redis lock
across replicas, and rest_service's conditional replace (keyed on the newest message the
summary covers) as the last word, so a stalled holder never overwrites newer work. A failure
keeps the old summary: logged, counted, and tried again after a later turn."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter

from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.assistants.model_order import model_routes
from assistant.src.clients.llm import ModelRoute
from assistant.src.settings import Settings
from assistant.src.turn.state import TurnState
from common.infrastructure.errors import ConflictError
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.redis_lock import RedisLock
from common.infrastructure.wire import Message, ThreadSummary

log = get_logger(__name__)

SUMMARIES_MADE = Counter(
    "smart_assistant_assistant_summaries_total", "Thread summaries made and stored"
)
SUMMARY_FAILURES = Counter(
    "smart_assistant_assistant_summary_failures_total",
    "Thread summaries that failed; the old summary stays",
    ["reason"],
)

#: rest_service's limit on a summary; the model is asked for far less.
SUMMARY_MAX_CHARS = 20_000
#: One message's text as the summarising model reads it.
MESSAGE_MAX_CHARS = 2_000
INSTRUCTIONS = (
    "You keep the running notes of a conversation between a user and an assistant (you). "
    "Fold the previous notes and the newer messages below into one updated set of notes, "
    "at most about 300 words, in the conversation's language. Keep every fact the user "
    "stated about themselves and their plans (names, numbers, codes, dates, preferences), "
    "decisions, promises and open questions; drop small talk. Write only the notes."
)


class Summaries:
    def __init__(
        self, settings: Settings, redis: aioredis.Redis, names: Names, deps: AssistantDeps
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.names = names
        self.deps = deps
        #: The summary task of each thread this replica is folding now.
        self.running: dict[str, asyncio.Task[None]] = {}

    def after_answer(self, state: TurnState) -> None:
        """Starts folding the turn's thread in the background when it may be due; returns at
        once (the answer was published before)."""
        context, speaker = state.context, state.speaker
        if context is None or context.thread is None or not context.recent or speaker is None:
            return
        thread_id = context.thread.thread_id
        if thread_id in self.running:
            return
        routes = model_routes(
            state.snapshot, self.settings, preferred=None, assistant_model=speaker.model
        )
        task = asyncio.create_task(self.fold(thread_id, context.recent[0].id, routes))
        self.running[thread_id] = task
        task.add_done_callback(lambda _: self.running.pop(thread_id, None))

    async def fold(self, thread_id: str, window_start: int, routes: list[ModelRoute]) -> None:
        """One summary of the thread, if due and no one else is making it."""
        lock = RedisLock(
            self.redis,
            self.names.thread_summary_lock(thread_id),
            int(self.settings.summary_lock_seconds * 1000),
        )
        try:
            if not await lock.acquire():
                return
            try:
                await self._fold(thread_id, window_start, routes)
            finally:
                await lock.release()
        except ConflictError:
            log.info("summary_overtaken", thread_id=thread_id)
        except Exception as exc:  # a background task: nothing above it would log this
            SUMMARY_FAILURES.labels(type(exc).__name__).inc()
            log.warning("summary_failed", thread_id=thread_id, error=str(exc))

    async def _fold(self, thread_id: str, window_start: int, routes: list[ModelRoute]) -> None:
        rest = self.deps.rest
        backlog = await rest.summary_backlog(
            thread_id, before_id=window_start, limit=self.settings.summary_max_messages
        )
        if len(backlog.messages) < self.settings.summary_after_messages:
            return
        completion = await self.deps.llm.complete(
            routes, summary_request(backlog.summary, backlog.messages)
        )
        text = (completion.content or "").strip()
        if not text:
            SUMMARY_FAILURES.labels("empty").inc()
            log.warning("summary_empty", thread_id=thread_id, model=completion.model)
            return
        previous = backlog.summary.covers_message_id if backlog.summary is not None else None
        await rest.write_summary(
            thread_id, text[:SUMMARY_MAX_CHARS], backlog.messages[-1].id, previous
        )
        SUMMARIES_MADE.inc()
        log.info("summary_made", thread_id=thread_id, messages=len(backlog.messages))

    async def close(self) -> None:
        """Lets the summaries in flight finish (each is bounded by the LLM timeout)."""
        if self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)


def summary_request(
    previous: ThreadSummary | None, messages: list[Message]
) -> list[dict[str, Any]]:
    """What the model reads: the instructions, the previous notes, the newer messages."""
    notes = previous.content if previous is not None else "(none yet)"
    lines = [_line(m) for m in messages if m.role in ("user", "assistant") and m.content]
    body = "Previous notes:\n" + notes + "\n\nNewer messages:\n" + "\n".join(lines)
    return [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": body}]


def _line(message: Message) -> str:
    who = message.author or message.role
    text = message.content or ""
    if len(text) > MESSAGE_MAX_CHARS:
        text = text[: MESSAGE_MAX_CHARS - 1] + "…"
    return f"{who}: {text}"
