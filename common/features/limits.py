"""Per-user limits shared by tg_bot (messages per minute) and the assistant (LLM tokens per
day), kept in Redis so every replica sees the same counts. Days are UTC days: one reset
moment for everyone, and no profile lookup on the hot path."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.typing import EncodableT

from common.infrastructure.clock import utcnow
from common.infrastructure.metrics import zeroed
from common.infrastructure.redis_keys import Names

#: `limit`: messages_per_minute, daily_tokens, tool_calls_per_turn, active_reminders,
#: recurrence_interval (a fixed set).
LIMIT_REFUSALS = zeroed(
    Counter(
        "smart_assistant_limit_refusals_total", "Requests refused by a per-user limit", ["limit"]
    ),
    "messages_per_minute",
    "daily_tokens",
    "tool_calls_per_turn",
    "active_reminders",
    "recurrence_interval",
)

#: Day counters outlive their day a little, so /usage just after midnight still reads them.
DAY_KEY_TTL_S = 2 * 24 * 3600
WINDOW_MS = 60_000

# KEYS: window, notice, messages today (one slot per user: `Names.user_message_window`).
# ARGV: now ms, limit, window ms, day TTL s, member, daily limit (optional; 0: none).
# Returns {admitted, wait ms (-1: the day's limit is spent), first refusal (1: tell the user)}.
_ADMIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[5]) then
  return {1, 0, 0}
end
local daily = tonumber(ARGV[6] or '0')
if daily > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= daily then
  return {0, -1, 0}
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  return {1, 0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = math.max(1, tonumber(oldest[2]) + window - now)
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', wait) and 1 or 0
return {0, wait, first}
"""


def utc_day(now: datetime | None = None) -> str:
    return (now or utcnow()).astimezone(UTC).strftime("%Y-%m-%d")


def seconds_until_reset(now: datetime | None = None) -> int:
    """Seconds until the next 00:00 UTC, when daily counters start again."""
    current = (now or utcnow()).astimezone(UTC)
    midnight = (current + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - current).total_seconds()))


@dataclass(frozen=True)
class Admission:
    admitted: bool
    #: Seconds until one more message is admitted (0 when admitted).
    wait_seconds: int = 0
    #: The first refusal of this flood: the user is told once, the rest dropped in silence.
    notify: bool = False


class MessageRateLimit:
    """A sliding window of `per_minute` messages per sender (0: no limit): a Telegram user's
    id in tg_bot, the person's rest_service id in the channels service."""

    def __init__(self, redis: aioredis.Redis, names: Names, per_minute: int) -> None:
        self.redis = redis
        self.names = names
        self.per_minute = per_minute
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, telegram_user_id: int | str, member: str) -> Admission:
        """`member`: the message's id, so a replayed update counts once and passes again."""
        now = utcnow()
        if self.per_minute <= 0:
            await self.count_only(telegram_user_id, now)
            return Admission(True)
        keys = [
            self.names.user_message_window(telegram_user_id),
            self.names.user_flood_notice(telegram_user_id),
            self.names.user_messages_today(telegram_user_id, utc_day(now)),
        ]
        now_ms = int(now.timestamp() * 1000)
        args: list[EncodableT] = [now_ms, self.per_minute, WINDOW_MS, DAY_KEY_TTL_S, member]
        admitted, wait_ms, first = await self._admit(keys=keys, args=args)
        return Admission(bool(admitted), math.ceil(int(wait_ms) / 1000), bool(first))

    async def count_only(self, telegram_user_id: int | str, now: datetime) -> None:
        key = self.names.user_messages_today(telegram_user_id, utc_day(now))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, DAY_KEY_TTL_S)
            await pipe.execute()

    async def messages_today(self, telegram_user_id: int | str) -> int:
        value = await self.redis.get(self.names.user_messages_today(telegram_user_id, utc_day()))
        return int(value or 0)


class ClientRateLimit:
    """An API client's limits: `per_minute` requests in a sliding minute and `daily` in a
    UTC day (0: no such limit), counted per request id, so a retried request counts once."""

    #: The window's size when only the day is limited: no minute ever fills it.
    UNLIMITED = 2**31 - 1

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self.names = names
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, client_id: str, member: str, per_minute: int, daily: int) -> Admission:
        """`wait_seconds`: until the minute's window frees a place, or until midnight UTC
        when the day's requests are spent."""
        now = utcnow()
        keys = [
            self.names.api_client_window(client_id),
            self.names.api_client_notice(client_id),
            self.names.api_client_today(client_id, utc_day(now)),
        ]
        limit = per_minute if per_minute > 0 else self.UNLIMITED
        now_ms = int(now.timestamp() * 1000)
        args: list[EncodableT] = [now_ms, limit, WINDOW_MS, DAY_KEY_TTL_S, member, daily]
        admitted, wait_ms, _first = await self._admit(keys=keys, args=args)
        if admitted:
            return Admission(True)
        wait = seconds_until_reset(now) if int(wait_ms) < 0 else math.ceil(int(wait_ms) / 1000)
        return Admission(False, wait)


class TokenBudget:
    """LLM tokens per user per UTC day (`daily` 0: counted, never refused)."""

    def __init__(self, redis: aioredis.Redis, names: Names, daily: int) -> None:
        self.redis = redis
        self.names = names
        self.daily = daily

    async def used_today(self, user_id: str) -> int:
        return int(await self.redis.get(self.names.user_tokens_today(user_id, utc_day())) or 0)

    async def spent(self, user_id: str) -> bool:
        return self.daily > 0 and await self.used_today(user_id) >= self.daily

    async def add(self, user_id: str, tokens: int) -> None:
        if tokens <= 0:
            return
        key = self.names.user_tokens_today(user_id, utc_day())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, tokens)
            pipe.expire(key, DAY_KEY_TTL_S)
            await pipe.execute()
