"""The orchestrator: one incoming message in, one answer out to its `reply_stream`.

The stream queue calls `handle` once per message, one at a time per chat. The answer is
queued together with an `assistant:answered` mark in one transaction, so a message that is
redelivered after its answer went out is not answered again. rest_service down means
`RetryLater`: the message stays pending and is answered when it is back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis
from prometheus_client import Histogram

from assistant.src.assistants.base import Turn
from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.llm_chat import AssistantDeps, fetch_context
from assistant.src.assistants.phrases import APOLOGY, NOT_CONFIGURED, say
from assistant.src.assistants.secretary import secretary_memory_query
from assistant.src.config import Settings
from assistant.src.config.snapshot import AssistantSpec
from assistant.src.config.watcher import ConfigWatcher
from assistant.src.tools.base import Actor, ToolServices
from common.errors import NotFoundError, RetryLater
from common.logging import get_logger
from common.messages import IncomingMessage, OutgoingKind, OutgoingMessage, answer_message_id
from common.names import Names
from common.rest_client import RestServiceUnavailable, TurnContext, User

log = get_logger(__name__)

TURN_SECONDS = Histogram(
    "assistant_turn_seconds",
    "Time from taking a message to queueing its answer",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

#: How long the "answered" mark outlives the message (the queue's `done:` TTL).
ANSWERED_TTL_S = 7 * 24 * 3600

# Queue the answer only if the message was not answered yet: even two handlers racing on one
# message (a chat lock lost to a stalled process) put one answer on the stream.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Answer:
    text: str
    kind: OutgoingKind


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
        self.redis = redis
        self.names = names
        self.deps = deps
        self.services = services
        self.config = config
        self._publish_once = redis.register_script(_PUBLISH_ONCE)

    async def handle(self, message: IncomingMessage) -> None:
        answered = self.names.assistant_answered(str(message.message_id))
        if await self.redis.exists(answered):
            log.info("message_already_answered")
            return
        started = time.perf_counter()
        try:
            answer = await self.answer(message)
        except RestServiceUnavailable as exc:
            log.warning("rest_service_unavailable", error=str(exc))
            raise RetryLater(self.settings.rest_retry_seconds, "rest_service unavailable") from exc
        if answer is not None:
            await self.publish(message, answer, answered)
        elapsed = time.perf_counter() - started
        TURN_SECONDS.observe(elapsed)
        log.info("message_handled", turn_ms=round(elapsed * 1000, 2), answered=answer is not None)

    async def answer(self, message: IncomingMessage) -> Answer | None:
        """The answer to `message`; None for a blocked user."""
        snapshot = await self.config.settled()
        start = await self._turn_context(message, snapshot.secretary)
        user = start["profile"] if start is not None else await self._user(message)
        if user is not None and user.get("blocked"):
            log.info("message_from_blocked_user")
            return None
        actor = self._actor(message, user)
        factory = AssistantFactory(
            self.deps,
            self.services,
            snapshot,
            preferred_model=user.get("preferred_model") if user else None,
        )
        secretary = factory.secretary()
        if secretary is None:
            log.error("no_secretary_configured", config_version=snapshot.version)
            return Answer(say(NOT_CONFIGURED, actor.language), OutgoingKind.ERROR)
        turn = Turn(message.text, actor, str(message.message_id))
        result = await secretary.answer(turn, start)
        if result.text is None:
            return Answer(say(APOLOGY, actor.language), OutgoingKind.ERROR)
        log.info("message_answered", model=result.model, replayed=result.replayed)
        return Answer(result.text, OutgoingKind.REPLY)

    async def publish(self, message: IncomingMessage, answer: Answer, answered: str) -> None:
        """Queue the answer and mark the message answered, in one step, once."""
        outgoing = OutgoingMessage(
            message_id=answer_message_id(message.message_id),
            chat_id=message.chat_id,
            text=answer.text,
            kind=answer.kind,
            correlation_id=str(message.message_id),
            reply_to_telegram_message_id=message.telegram_message_id,
        )
        keys = [answered, self.names.stream(message.reply_stream)]
        if not await self._publish_once(keys=keys, args=[ANSWERED_TTL_S, outgoing.to_json()]):
            log.warning("answer_already_queued")

    async def _turn_context(
        self, message: IncomingMessage, secretary: AssistantSpec | None
    ) -> TurnContext | None:
        """The sender's profile with the secretary's thread, window and memory, in one
        request (None when no secretary would answer)."""
        if secretary is None or not secretary.is_active:
            return None
        return await fetch_context(
            self.deps,
            secretary.id,
            message.conversation_key,
            secretary_memory_query(self.settings, message.text),
            profile_id=str(message.user_id),
        )

    async def _user(self, message: IncomingMessage) -> User | None:
        try:
            return await self.deps.rest.get_user(str(message.user_id))
        except NotFoundError:
            return None

    def _actor(self, message: IncomingMessage, user: User | None) -> Actor:
        profile = user or {}
        return Actor(
            user_id=str(message.user_id),
            conversation_key=message.conversation_key,
            chat_id=message.chat_id,
            timezone=_valid_zone(profile.get("timezone"), self.settings.default_timezone),
            language=profile.get("language") or message.language_code,
            name=message.first_name or profile.get("first_name"),
            username=message.username or profile.get("username"),
            is_group=message.is_group,
            registered=user is not None,
        )


def _valid_zone(name: str | None, default: str) -> str:
    for candidate in (name, default):
        if candidate:
            try:
                ZoneInfo(candidate)
                return candidate
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"
