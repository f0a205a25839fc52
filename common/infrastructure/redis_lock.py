"""Owner-checked Redis locks: a key holding its holder's token, with a TTL.

Only the holder may renew or release it, so a holder that stalled past the TTL (and lost
the lock to another) can never extend or delete the new holder's lock. The check and the
write are one Lua call each.
"""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLock:
    """One attempt at holding `key` (a name from `common.infrastructure.redis_keys`) under a fresh
    token."""

    def __init__(self, redis: aioredis.Redis, key: str, ttl_ms: int) -> None:
        self._redis = redis
        self.key = key
        self.ttl_ms = max(ttl_ms, 1)
        self.token = uuid.uuid4().hex
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        """True when the key was free and is ours now, for `ttl_ms`."""
        return bool(await self._redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def extend(self) -> bool:
        """Renew the TTL; False when the lock is no longer ours."""
        return bool(await self._extend(keys=[self.key], args=[self.token, self.ttl_ms]))

    async def release(self) -> bool:
        """Delete the key if it is still ours; False when someone else holds it now."""
        return bool(await self._release(keys=[self.key], args=[self.token]))
