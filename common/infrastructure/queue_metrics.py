"""Queue gauges: how many entries wait in each stream, how many are read and not yet
finished (the consumer group's pending list), and how many dead letters lie in
`<stream>:dead`. The service that consumes a stream exports its gauges, refreshed in the
background, so a scrape never waits on Redis and a Redis outage leaves `/metrics` working
(with the last values and a stale `..._refreshed_timestamp_seconds`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge

from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.streams import WatchedStream, pending_count

log = get_logger(__name__)

QUEUE_DEPTH = Gauge(
    "smart_assistant_queue_depth",
    "Entries in a stream (not yet handled, or being handled)",
    ["stream"],
)
QUEUE_PENDING = Gauge(
    "smart_assistant_queue_pending",
    "Entries read by the consumer group and not yet acknowledged",
    ["stream"],
)
QUEUE_DEAD_LETTERS = Gauge(
    "smart_assistant_queue_dead_letters", "Entries in the stream's dead-letter stream", ["stream"]
)
REFRESHED = Gauge(
    "smart_assistant_queue_metrics_refreshed_timestamp_seconds",
    "When the queue gauges were last read from Redis (Unix time)",
)
REFRESH_FAILURES = Counter(
    "smart_assistant_queue_metrics_refresh_failures_total",
    "Reads of the queue gauges that failed or timed out",
)


async def read_stream(redis: aioredis.Redis, names: Names, watched: WatchedStream) -> None:
    """Set the gauges of one stream from Redis (three reads, each on one key: Cluster-safe)."""
    label = watched.stream
    if watched.entries:
        key = names.stream(watched.stream)
        QUEUE_DEPTH.labels(label).set(await redis.xlen(key))
        if watched.group is not None:
            QUEUE_PENDING.labels(label).set(await pending_count(redis, key, watched.group))
    if watched.dead_letters:
        QUEUE_DEAD_LETTERS.labels(label).set(await redis.xlen(names.dead(watched.stream)))


class QueueGauges:
    """Refreshes the gauges of `streams` every `interval_s`; each refresh is bounded by
    `timeout_s`, and a failure is counted and logged once until a refresh succeeds again."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        streams: Sequence[WatchedStream],
        *,
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        self._redis, self._names, self.streams = redis, names, tuple(streams)
        self._interval_s, self._timeout_s = interval_s, timeout_s
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def refresh(self) -> bool:
        """One read of every stream; False (and the old values kept) when Redis failed."""
        try:
            async with asyncio.timeout(self._timeout_s):
                for watched in self.streams:
                    await read_stream(self._redis, self._names, watched)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            REFRESH_FAILURES.inc()
            if not self._failing:
                log.warning("queue_metrics_unavailable", error=f"{type(exc).__name__}: {exc}")
            self._failing = True
            return False
        if self._failing:
            log.info("queue_metrics_available")
        self._failing = False
        REFRESHED.set(time.time())
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # the gauges may go stale; the service must not notice
                log.exception("queue_metrics_failed")
            await asyncio.sleep(self._interval_s)

    def start(self) -> None:
        if self.streams and self._task is None:
            self._task = asyncio.create_task(self._run(), name="queue-gauges")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
