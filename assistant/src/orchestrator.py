"""The orchestrator: one incoming message in, one answer out to its `reply_stream`.

The stream queue calls `handle` once per message, one at a time per chat. The answer is
queued together with an `assistant:answered` mark in one transaction, so a message that is
redelivered after its answer went out is not answered again. rest_service down means
`RetryLater`: the message stays pending and is answered when it is back.

A failure that retrying cannot fix (rest_service refusing the turn with a 4xx) is answered at
once with a short apology; one that outlasts the queue's retries reaches `dead_lettered`
(the queue's hook), which apologises before the entry is dead-lettered. Either way the user
hears back and the failure is logged and counted: a message is never only a dead letter.

The turn itself is the steps of `assistant/src/turn/`, each called once, top to bottom; this
module only wires them.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from prometheus_client import Histogram

from assistant.src.assistants.attachments import AttachmentReader
from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.assistants.voice_reply import VoiceReplies
from assistant.src.clients.llm import ModelClock, recording, timing_model
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.settings import Settings
from assistant.src.tools.base import ToolServices
from assistant.src.turn.background import Background
from assistant.src.turn.handoff import HandedOff
from assistant.src.turn.intake import (
    Intake,
    blob_keys,
    dead_blobs,
    readable,
    salvage_for_apology,
)
from assistant.src.turn.model import ModelRun
from assistant.src.turn.outbox import ANSWERED_TTL_S, AnswerOutbox, FirstReads, turn_record_key
from assistant.src.turn.publish import Asked, Publisher, in_call_order
from assistant.src.turn.reading import Reading
from assistant.src.turn.reply_form import TURN_FAILURES, Answer, ReplyForm, failed
from assistant.src.turn.state import TurnState
from assistant.src.turn.summary import Summaries
from common.features.blobs import BlobStore
from common.infrastructure import tracing
from common.infrastructure.errors import AppError, RetryLater
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestServiceUnavailable

#: What this module offered before the turn's steps moved out of it.
__all__ = [
    "ANSWERED_TTL_S",
    "TURN_FAILURES",
    "TURN_SECONDS",
    "Answer",
    "AnswerOutbox",
    "Asked",
    "FirstReads",
    "Orchestrator",
    "in_call_order",
    "readable",
    "salvage_for_apology",
    "turn_record_key",
]

log = get_logger(__name__)

TURN_SECONDS = Histogram(
    "smart_assistant_assistant_turn_seconds",
    "Time from taking a message to queueing its answer",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


class Orchestrator:
    def __init__(
        self,
        *,
        settings: Settings,
        redis: aioredis.Redis,
        names: Names,
        deps: AssistantDeps,
        services: ToolServices,
        config: ConfigWatcher,
    ) -> None:
        self.settings = settings
        self.deps = deps
        self.services = services
        self.config = config
        outbox = AnswerOutbox(redis, names)
        #: The files of a turn (voice, pictures, documents), deleted when it is answered.
        self.blobs = BlobStore(redis, names)
        self.intake = Intake(redis, names, outbox, self.blobs, config)
        self.handed_off = HandedOff(redis, names, outbox)
        self.reading = Reading(AttachmentReader(settings, self.blobs, deps.llm))
        self.background = Background(settings, deps)
        self.model = ModelRun(settings, redis, names, deps, services)
        self.reply_form = ReplyForm(VoiceReplies(settings, self.blobs, deps.llm))
        self.publisher = Publisher(redis, names, outbox)
        self.summaries = Summaries(settings, redis, names, deps)

    async def close(self) -> None:
        """Lets the work started after answers (thread summaries, embeddings) finish: it
        writes to Redis and rest_service, which close after this."""
        await asyncio.gather(
            self.summaries.close(), self.background.recall.close(), self.model.recall.close()
        )

    async def handle(self, message: IncomingMessage) -> None:
        taken = await self.intake.take(message)
        if taken is None:
            return
        if await self.handed_off.forwarded(taken.message):
            await self.blobs.delete(*taken.files)
            return
        started = time.perf_counter()
        message = taken.message
        state: TurnState | None = None
        clock = ModelClock()
        try:
            with recording(taken.record), timing_model(clock), tracing.span("turn"):
                answer, state = await self._answer(message, taken.config_version)
        except RestServiceUnavailable as exc:
            log.warning("rest_service_unavailable", error=str(exc))
            raise RetryLater(self.settings.rest_retry_seconds, "rest_service unavailable") from exc
        except AppError as exc:
            if not 400 <= exc.status_code < 500:
                raise
            answer = failed("refused", exc, message.language_code)
        if answer is not None:
            await self.publish(message, answer, model_seconds=clock.seconds)
        if state is not None:
            self.summaries.after_answer(state)
        await self.blobs.delete(*taken.files)
        elapsed = time.perf_counter() - started
        TURN_SECONDS.observe(elapsed)
        log.info("message_handled", turn_ms=round(elapsed * 1000, 2), answered=answer is not None)

    async def answer(
        self, message: IncomingMessage, config_version: int | None = None
    ) -> Answer | None:
        """The answer to `message`; None for a blocked user. `config_version`: the stored
        version of the live config, when the caller read it already."""
        answer, _state = await self._answer(message, config_version)
        return answer

    async def _answer(
        self, message: IncomingMessage, config_version: int | None
    ) -> tuple[Answer | None, TurnState]:
        """`answer`, with the turn it made (its thread's summary is kept after publishing)."""
        state = TurnState(message, await self.config.current_snapshot(config_version))
        await self.reading.read(state)
        await self.background.learn(state)
        if state.blocked:
            return None, state
        await self.model.run(state)
        return await self.reply_form.choose(state), state

    async def publish(
        self, message: IncomingMessage, answer: Answer, model_seconds: float | None = None
    ) -> None:
        """Queue the answer and mark the message answered, in one step, once.
        `model_seconds`: how long the turn waited on the model, if it is known."""
        await self.publisher.publish(message, answer, model_seconds)

    async def dead_lettered(self, dead: DeadLetter[IncomingMessage]) -> None:
        """The queue's hook: the sender of a message that failed for good gets an apology
        (unless it was answered after all)."""
        message = dead.message or salvage_for_apology(dead.data)
        if message is None:
            log.error("dead_letter_without_sender", entry_id=dead.entry_id, reason=dead.reason)
            TURN_FAILURES.labels("unanswerable").inc()
            await self.blobs.delete(*dead_blobs(dead))
            return
        with correlation(str(message.message_id)):
            answer = failed("dead_letter", RuntimeError(dead.reason), message.language_code)
            try:
                await self.publish(message, answer)
            finally:
                await self.blobs.delete(*dead_blobs(dead))

    async def dropped(self, message: IncomingMessage) -> None:
        """The queue's hook for a duplicate entry: its files are not needed (the first
        delivery was answered) and go, with what they held of the blob budget."""
        await self.blobs.delete(*blob_keys(message))
