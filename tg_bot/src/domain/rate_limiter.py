"""Telegram's send limits held across every tg_bot process: overall, per chat, per group.

Each limit is a sliding window ("at most N sends in any W seconds") kept as a sorted set in
Redis. One Lua call checks every limit that applies to a send at Redis's own clock and, only
when all of them allow it, records the send in all of them at once; otherwise it says how
long until they would. Checking the limits together is what keeps a chat's sends spaced
even when the overall limit makes some of them wait, which chaining one limiter per scope
(aiolimiter and friends) cannot promise; keeping them in Redis is what holds them when
several processes send for the same bot.

Telegram counts a send when it arrives, the limiter when it is allowed. A send that takes
long (a slow network, a stalled loop) may arrive late, and the chat's next send, allowed a
window after the first was, would then arrive right behind it. So a send that took longer
than `RESTAMP_AFTER_S` is counted again from when it finished, in its chat's and group's
limits (`SendLimiter.sending`): a chat's sends go one after another, so the next is then a
full window behind the arrival.

The limiter reads Redis's clock and waits with `asyncio.sleep`; a test may give it a `clock`
(seconds, monotonic) and a `sleep` of its own, so that spacing is checked on a clock the test
controls instead of waited out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from common.infrastructure.redis_keys import Names

log = structlog.get_logger(__name__)

# A send slower than this is counted again from its end (a few ms on loopback; a real
# Telegram round trip is longer, and then the extra Redis call is small beside it).
RESTAMP_AFTER_S = 0.02

#: Now in microseconds: the caller's clock when it gives one (ARGV[2]), else Redis's.
_NOW = """
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

# KEYS: one sorted set per limit. ARGV: a unique member, now ('' for Redis's), then
# (count, window_us) per key.
# Returns 0 when the send is recorded, else the microseconds to wait before trying again.
_ACQUIRE = (
    _NOW
    + """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
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
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 2]) / 1000) + 1000)
end
return 0
"""
)

# KEYS: the sorted sets a send was recorded in. ARGV: its member, now ('' for Redis's), then
# window_us per key. Moves the send to now where it is still recorded.
_RESTAMP = (
    _NOW
    + """
for i, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now, ARGV[1]) > 0 then
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[i + 2]) / 1000) + 1000)
  end
end
return 0
"""
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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
    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        limits: SendLimits,
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        bot_id: object = None,
    ) -> None:
        """`clock`: now in seconds for the limits (default Redis's clock, which every process
        shares); `sleep`: how a wait for a slot is spent; `bot_id`: whose sends (a bots row's
        id, None the default bot): Telegram's limits are per bot, so each bot has its own."""
        self._prefix = "" if bot_id is None else f"bot:{bot_id}:"
        self._clock = clock
        self._sleep = sleep
        self._redis = redis
        self._names = names
        self._limits = limits
        self._acquire = redis.register_script(_ACQUIRE)
        self._restamp = redis.register_script(_RESTAMP)

    @asynccontextmanager
    async def sending(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for a slot, then send to `chat_id` inside the block; a send that took
        longer than `RESTAMP_AFTER_S` (or failed after that long) is counted from its end."""
        send_id = await self.acquire(chat_id)
        elapsed = self._clock or time.monotonic
        started = elapsed()
        try:
            yield
        finally:
            if elapsed() - started > RESTAMP_AFTER_S:
                await self._counted_from_now(chat_id, send_id)

    async def acquire(self, chat_id: int) -> str:
        """Wait until a message may go to `chat_id`; the send is counted from now. Returns
        the send's id in the limits."""
        while True:
            send_id = uuid.uuid4().hex
            wait_s = await self._try(chat_id, send_id)
            if wait_s <= 0:
                return send_id
            await self._sleep(wait_s)  # exactly until the limits free a slot

    async def try_acquire(self, chat_id: int) -> float:
        """Count a send to `chat_id` now and return 0 if every limit allows it; otherwise
        count nothing and return the seconds until they would."""
        return await self._try(chat_id, uuid.uuid4().hex)

    async def _try(self, chat_id: int, send_id: str) -> float:
        scopes = self._scopes(chat_id)
        keys = [key for key, _ in scopes]
        args: list[int] = []
        for _, limit in scopes:
            args += [limit.count, _window_us(limit)]
        wait_us = int(await self._acquire(keys=keys, args=[send_id, self._now(), *args]))
        return max(wait_us, 0) / 1_000_000

    async def _counted_from_now(self, chat_id: int, send_id: str) -> None:
        """The chat's and group's limits, not the overall one: sends to different chats
        overlap, so moving one there would only hold the others back."""
        scopes = self._scopes(chat_id)[1:]
        keys = [key for key, _ in scopes]
        windows = [_window_us(limit) for _, limit in scopes]
        try:
            await self._restamp(keys=keys, args=[send_id, self._now(), *windows])
        except RedisError as exc:  # the send is done; its first stamp still holds
            log.warning("send_limit_restamp_failed", chat_id=chat_id, error=str(exc))

    def _now(self) -> str:
        """The given clock's now in microseconds, or '' for Redis's own."""
        return "" if self._clock is None else str(round(self._clock() * 1_000_000))

    def _scopes(self, chat_id: int) -> list[tuple[str, Limit]]:
        """The limits a send to `chat_id` counts against, overall first."""
        scopes = [("all", self._limits.overall), (f"chat:{chat_id}", self._limits.chat)]
        if chat_id < 0:  # groups and supergroups have negative ids
            scopes.append((f"group:{chat_id}", self._limits.group))
        return [
            (self._names.telegram_send_limit(self._prefix + scope), limit)
            for scope, limit in scopes
        ]


def _window_us(limit: Limit) -> int:
    return max(1, round(limit.window_s * 1_000_000))
