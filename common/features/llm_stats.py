"""The assistant's LLM requests counted per day in Redis, for the admin dashboard.

The /metrics counters live in one process and start at zero with it; these are shared by
every replica and outlive a restart. A hash per UTC day (`Names.llm_stats`) holds a field
per quarter hour and figure (`0915:failed`), so "today" in any time zone (every zone's
offset is whole quarter hours) is an exact sum of whole quarters over at most three UTC
days. The assistant adds up its completions' counts in memory and writes them once per
`FLUSH_AFTER_S` (one script call per quarter hour seen) in the background, not once per
completion: a slow or missing Redis never holds up or fails a turn, it only loses those
counts (logged), and the dashboard is at most that much behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

import redis.asyncio as aioredis

from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names

log = get_logger(__name__)

QUARTER = timedelta(minutes=15)
#: A day's hash is kept this long after the day ends (the dashboard needs today only).
KEEP_AFTER_DAY = timedelta(days=3)
#: A write that takes longer is dropped: counts are not worth a pile of waiting tasks.
WRITE_TIMEOUT_S = 2.0
#: Counts recorded within this long go to Redis together.
FLUSH_AFTER_S = 1.0

# One command per completion (half the client CPU of a pipeline): the fields' increments and
# the day's expiry. KEYS: the day's hash; ARGV: the expiry (Unix seconds), then field, amount.
_ADD = """
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
"""


@dataclass(frozen=True)
class LlmCounts:
    """What the assistant's LLM calls came to over some time."""

    #: Requests sent to a model (each retry is one).
    requests: int = 0
    #: Of them, the ones that failed (an error status, a timeout, a broken stream).
    failed: int = 0
    #: Completions answered by a model after the first in their order (the fallback).
    fallbacks: int = 0
    #: Completions no model answered (the turn fails or is apologised for).
    unavailable: int = 0

    def __add__(self, other: LlmCounts) -> LlmCounts:
        return LlmCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in FIELDS})


FIELDS = fields(LlmCounts)
_NAMES = frozenset(f.name for f in FIELDS)


def quarter_of(moment: datetime) -> datetime:
    """The start of the UTC quarter hour `moment` falls in."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


class LlmStats:
    """Adds the assistant's counts (`record`) and reads them back (`read`)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        *,
        flush_after_s: float = FLUSH_AFTER_S,
        write_timeout_s: float = WRITE_TIMEOUT_S,
    ) -> None:
        self._redis = redis
        self._names = names
        self._flush_after_s = flush_after_s
        self._write_timeout_s = write_timeout_s
        #: counts recorded and not yet written, by quarter hour
        self._waiting: dict[datetime, LlmCounts] = {}
        self._flushing: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()
        self._add = redis.register_script(_ADD)

    def record(self, counts: LlmCounts, at: datetime | None = None) -> None:
        """Adds `counts` in the background (within `flush_after_s`, with whatever else is
        recorded meanwhile): returns at once and never raises."""
        if counts == LlmCounts():
            return
        quarter = quarter_of(at or utcnow())
        self._waiting[quarter] = self._waiting.get(quarter, LlmCounts()) + counts
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurry.wait(), self._flush_after_s)
        self._flushing = None  # what is recorded from now on waits for the next write
        waiting, self._waiting = self._waiting, {}
        for quarter, counts in sorted(waiting.items()):
            await self.add(counts, quarter)

    async def add(self, counts: LlmCounts, at: datetime) -> None:
        """One call on one key (so one Cluster slot); a failure is logged, not raised."""
        quarter = quarter_of(at)
        day = quarter.date()
        key = self._names.llm_stats(day.isoformat())
        prefix = quarter.strftime("%H%M")
        expires = datetime.combine(day + timedelta(days=1), time(), UTC) + KEEP_AFTER_DAY
        args: list[str | int] = [int(expires.timestamp())]
        for name, value in asdict(counts).items():
            if value:
                args += [f"{prefix}:{name}", value]
        try:
            async with asyncio.timeout(self._write_timeout_s):
                await self._add(keys=[key], args=args)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            log.warning("llm_stats_not_recorded", error=f"{type(exc).__name__}: {exc}")

    async def drain(self) -> None:
        """Writes what is recorded now and waits for it (at shutdown, and in tests)."""
        self._hurry.set()
        try:
            while self._flushing is not None:
                await asyncio.gather(self._flushing, return_exceptions=True)
        finally:
            self._hurry.clear()

    async def read(self, start: datetime, end: datetime) -> LlmCounts:
        """The counts of the quarters from `start` up to `end` (aware times; whole quarters:
        a quarter counts when it starts inside). Raises Redis's errors."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        days: list[date] = []
        day = start.date()
        while day <= (end - timedelta(microseconds=1)).date():
            days.append(day)
            day += timedelta(days=1)
        pipe = self._redis.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(self._names.llm_stats(day.isoformat()))
        hashes = await pipe.execute()
        totals = dict.fromkeys(_NAMES, 0)
        for day, found in zip(days, hashes, strict=True):
            for raw_field, raw_value in (found or {}).items():
                when, name = _parse_field(day, raw_field)
                if name in _NAMES and when is not None and start <= when < end:
                    totals[name] += int(raw_value)
        return LlmCounts(**totals)


def _parse_field(day: date, raw: bytes | str) -> tuple[datetime | None, str]:
    """`0915:failed` of `day` -> (09:15 UTC that day, "failed"); (None, "") if malformed."""
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    clock, _, name = text.partition(":")
    if len(clock) != 4 or not clock.isdigit():
        return None, ""
    hour, minute = int(clock[:2]), int(clock[2:])
    if hour > 23 or minute > 59:
        return None, ""
    return datetime.combine(day, time(hour, minute), UTC), name
