"""The config snapshot cache in Redis and the change notifications, behind a short breaker:
while Redis is down the API answers from Postgres at Postgres speed, and /health says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from common.infrastructure.logging import get_logger
from common.infrastructure.redis_connection import create_redis_for
from common.infrastructure.redis_keys import Names
from common.infrastructure.settings import ServiceSettings

log = get_logger(__name__)

T = TypeVar("T")

#: After a Redis failure, skip Redis for this long instead of waiting on it per request.
BREAKER_OPEN_S = 2.0
CALL_TIMEOUT_S = 1.0

#: Store a snapshot only if it is not older than the stored one (writers may race). KEYS: the
#: snapshot, the version (one Cluster slot: `Names.config_snapshot`).
_STORE_IF_NEWER = """
local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
if current <= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


def create_cache_redis(settings: ServiceSettings) -> aioredis.Redis:
    """Short timeouts and one retry: a cache must fail fast, not hold a request. A single
    Redis, Sentinel's master or a Cluster, as the settings say (the keys' hash tags keep each
    script in one slot)."""
    return create_redis_for(settings, timeout_s=CALL_TIMEOUT_S)


class ConfigCache:
    """Snapshot bytes by version: the last one in memory, the shared one in Redis."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self._redis = redis
        self._names = names
        self._memory: tuple[int, bytes] | None = None
        self._down_until = 0.0
        self.last_error: str | None = None
        self._store = redis.register_script(_STORE_IF_NEWER)

    @property
    def names(self) -> Names:
        return self._names

    @property
    def redis_up(self) -> bool:
        return self.last_error is None

    async def get(self, version: int) -> bytes | None:
        if self._memory is not None and self._memory[0] == version:
            return self._memory[1]
        stored = await self._call(
            lambda: self._redis.mget(self._names.config_version, self._names.config_snapshot)
        )
        if not stored or stored[0] is None or int(stored[0]) != version:
            return None
        # The cache client does not decode answers: a stored snapshot is bytes.
        snapshot = stored[1]
        if not isinstance(snapshot, bytes):
            return None
        self._remember(version, snapshot)
        return snapshot

    async def put(self, version: int, payload: bytes) -> None:
        self._remember(version, payload)
        keys = [self._names.config_snapshot, self._names.config_version]
        await self._call(lambda: self._store(keys=keys, args=[version, payload]))

    async def publish_config(self, version: int, payload: bytes) -> None:
        """Republish after a write: the new snapshot, then the version on `config:updated`."""
        await self.put(version, payload)
        await self._call(lambda: self._redis.publish(self._names.config_updated, str(version)))

    async def publish_cron(self, message: str) -> None:
        await self._call(lambda: self._redis.publish(self._names.cron_updated, message))

    async def publish_user(self, message: str) -> None:
        await self._call(lambda: self._redis.publish(self._names.user_updated, message))

    async def publish_webhooks(self) -> None:
        """Wakes the webhook workers; a lost nudge costs only their next poll."""
        await self._call(lambda: self._redis.publish(self._names.webhooks_pending, "1"))

    async def publish_pairing(self, telegram_id: int) -> None:
        await self._call(lambda: self._redis.publish(self._names.pairings_updated, telegram_id))

    async def publish_bots(self, message: str) -> None:
        await self._call(lambda: self._redis.publish(self._names.bots_updated, message))

    async def queue(self, stream: str, payload: str) -> bool:
        """A queue message (`data`: its JSON) onto `stream` (unprefixed); False when Redis is
        down (the caller decides whether that fails its request)."""
        name = self._names.stream(stream)
        return await self._call(lambda: self._redis.xadd(name, {"data": payload})) is not None

    async def set_value(self, key: str, value: str) -> bool:
        """`key` (prefixed by the caller's `Names`) holds `value`; False when Redis is down."""
        return await self._call(lambda: self._redis.set(key, value)) is not None

    async def delete_key(self, key: str) -> bool:
        return await self._call(lambda: self._redis.delete(key)) is not None

    async def ping(self) -> bool:
        """A real round trip (for /health), which also closes the breaker when Redis is back."""
        self._down_until = 0.0
        return await self._call(self._redis.ping) is not None

    def _remember(self, version: int, payload: bytes) -> None:
        if self._memory is None or self._memory[0] <= version:
            self._memory = (version, payload)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S * 2):
                result = await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + BREAKER_OPEN_S
            if self.last_error is None:
                log.warning("redis_unavailable", error=str(exc))
            self.last_error = str(exc) or type(exc).__name__
            return None
        if self.last_error is not None:
            log.info("redis_recovered")
            self.last_error = None
        return result
