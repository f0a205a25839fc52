"""Sending: answers from `queue:to_channels`, each handed to the adapter of its channel.

The stream consumer (common/infrastructure/queue.py) gives what tg_bot's sender has: at
least once, one conversation at a time and many at once, a message handled once, retries
and dead letters. An answer for a channel that is off here, or that no adapter serves, can
never be sent by this process: it goes to `queue:to_channels:dead` at once, with the reason,
where `./manage.py dlq` and the admin show it and can replay it once the channel is on."""

from __future__ import annotations

import redis.asyncio as aioredis

from channels.src.adapters.registry import AdapterRegistry
from channels.src.settings import Settings
from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.metrics import answer_delivered
from common.infrastructure.queue import ConsumerConfig, DeadLetter, StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import CHANNELS_GROUP, TO_CHANNELS, Names

log = get_logger(__name__)


class AnswerSender:
    """Hands each answer to its channel's adapter."""

    def __init__(self, registry: AdapterRegistry) -> None:
        self._registry = registry

    async def handle(self, message: OutgoingMessage) -> None:
        adapter = self._registry.sender_of(message.channel)
        await adapter.send(message)
        answer_delivered(message.channel, message.received_at, message.model_seconds, utcnow())
        log.info("answer_sent", channel=adapter.channel.value, kind=message.kind)

    async def dead_lettered(self, dead: DeadLetter[OutgoingMessage]) -> None:
        channel = dead.message.channel.value if dead.message is not None else None
        log.warning("answer_undelivered", channel=channel, reason=dead.reason)

    def consumer(
        self, redis: aioredis.Redis, names: Names, settings: Settings
    ) -> StreamConsumer[OutgoingMessage]:
        config = ConsumerConfig(
            concurrency=settings.send_concurrency,
            claim_idle_ms=settings.queue_claim_idle_ms,
            claim_interval_s=settings.queue_claim_interval_seconds,
            lock_ttl_ms=settings.queue_lock_ttl_ms,
        )
        return StreamConsumer(
            redis, names, TO_CHANNELS, CHANNELS_GROUP, OutgoingMessage, self.handle,
            config=config, on_dead=self.dead_lettered,
        )  # fmt: skip
