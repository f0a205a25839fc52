"""Telegram's send limits held across every tg_bot process: overall, per chat, per group.

Each limit is a sliding window ("at most N sends in any W seconds") kept as a sorted set in
Redis. One Lua call checks every limit that applies to a send at Redis's own clock and, only
when all of them allow it, records the send in all of them at once; otherwise it says how
long until they would. Checking the limits together is what keeps a chat's sends spaced
even when the overall limit makes some of them wait, which chaining one limiter per scope
(aiolimiter and friends) cannot promise; keeping them in Redis is what holds them when
several processes send for the same bot.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.names import Names

# KEYS: one sorted set per limit. ARGV: a unique member, then (count, window_us) per key.
# Returns 0 when the send is recorded, else the microseconds to wait before trying again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used >= count then
    local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 1]) / 1000) + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    """At most `count` sends in any `window_s` seconds."""

    count: int
    window_s: float

    @classmethod
    def per_second(cls, rate: float) -> Limit:
        """`rate` sends a second as even spacing: never two closer than 1/rate apart."""
        return cls(1, 1.0 / rate)

    @classmethod
    def per_minute(cls, count: int) -> Limit:
        return cls(count, 60.0)


@dataclass(frozen=True)
class SendLimits:
    overall: Limit
    chat: Limit
    group: Limit


class SendLimiter:
    def __init__(self, redis: aioredis.Redis, names: Names, limits: SendLimits) -> None:
        self._redis = redis
        self._names = names
        self._limits = limits
        self._acquire = redis.register_script(_ACQUIRE)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message may go to `chat_id`; the send is counted from now."""
        while True:
            wait_s = await self.try_acquire(chat_id)
            if wait_s <= 0:
                return
            await asyncio.sleep(wait_s)  # exactly until the limits free a slot

    async def try_acquire(self, chat_id: int) -> float:
        """Count a send to `chat_id` now and return 0 if every limit allows it; otherwise
        count nothing and return the seconds until they would."""
        keys, args = self._scopes(chat_id)
        wait_us = int(await self._acquire(keys=keys, args=[uuid.uuid4().hex, *args]))
        return max(wait_us, 0) / 1_000_000

    def _scopes(self, chat_id: int) -> tuple[list[str], list[int]]:
        scopes = [("all", self._limits.overall), (f"chat:{chat_id}", self._limits.chat)]
        if chat_id < 0:  # groups and supergroups have negative ids
            scopes.append((f"group:{chat_id}", self._limits.group))
        keys = [self._names.telegram_send_limit(scope) for scope, _ in scopes]
        args: list[int] = []
        for _, limit in scopes:
            args += [limit.count, max(1, round(limit.window_s * 1_000_000))]
        return keys, args
