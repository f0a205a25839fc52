"""Owner-checked locks against real Redis: only the holder renews or releases."""

from __future__ import annotations

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from common.infrastructure.redis_lock import RedisLock


async def test_one_holder_at_a_time_with_its_token_and_ttl(
    redis: aioredis.Redis, names: Names
) -> None:
    key = names.key("test:lock")
    first, second = RedisLock(redis, key, 5_000), RedisLock(redis, key, 5_000)
    assert await first.acquire()
    assert not await second.acquire()
    assert await redis.get(key) == first.token.encode()
    assert 0 < await redis.pttl(key) <= 5_000


async def test_only_the_holder_extends_and_releases(redis: aioredis.Redis, names: Names) -> None:
    key = names.key("test:lock")
    holder, other = RedisLock(redis, key, 1_000), RedisLock(redis, key, 60_000)
    assert await holder.acquire()
    assert not await other.extend()
    assert not await other.release()
    assert await redis.get(key) == holder.token.encode()
    holder.ttl_ms = 60_000
    assert await holder.extend()
    assert await redis.pttl(key) > 1_000
    assert await holder.release()
    assert await redis.get(key) is None
    assert not await holder.extend()


async def test_a_lapsed_holder_cannot_touch_its_successors_lock(
    redis: aioredis.Redis, names: Names
) -> None:
    key = names.key("test:lock")
    stalled, successor = RedisLock(redis, key, 1_000), RedisLock(redis, key, 5_000)
    assert await stalled.acquire()
    await redis.delete(key)  # the TTL ran out while the holder stalled
    assert await successor.acquire()
    assert not await stalled.release()
    assert not await stalled.extend()
    assert await redis.get(key) == successor.token.encode()


async def test_a_ttl_below_one_millisecond_is_one(redis: aioredis.Redis, names: Names) -> None:
    assert RedisLock(redis, names.key("test:lock"), 0).ttl_ms == 1
