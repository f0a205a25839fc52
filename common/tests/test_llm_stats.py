"""The per-day LLM counts on a real Redis: summed across writers by quarter hour, read back
for any span (a day in a zone a quarter hour off UTC included), kept a few days, and a
Redis that is gone or hangs costs the writer nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from structlog.testing import capture_logs

from common.features.llm_stats import LlmCounts, LlmStats, quarter_of
from common.infrastructure.redis_keys import Names
from common.tests.test_queue_metrics import silent_server
from ops.infra import free_port
from tests.streams import raw
from tests.waiting import until

#: Today's, not a fixed date's: a day's counts expire three days after it (KEEP_AFTER_DAY), so a
#: fixed date fails the suite once it is that old.
NOON = datetime.combine(datetime.now(UTC).date(), time(12, 7, 30), UTC)


async def test_two_writers_add_up_per_quarter_hour(redis: aioredis.Redis, names: Names) -> None:
    one, other = LlmStats(redis, names), LlmStats(redis, names)
    await one.add(LlmCounts(requests=3, failed=2, fallbacks=1), NOON)
    await other.add(LlmCounts(requests=1), NOON + timedelta(minutes=5))
    await other.add(LlmCounts(requests=1, failed=1, unavailable=1), NOON + timedelta(minutes=8))
    quarter = quarter_of(NOON)
    assert quarter == NOON.replace(minute=0, second=0)
    found = await one.read(quarter, quarter + timedelta(minutes=15))
    assert found == LlmCounts(requests=4, failed=2, fallbacks=1)
    following = await one.read(quarter, quarter + timedelta(minutes=30))
    assert following == LlmCounts(requests=5, failed=3, fallbacks=1, unavailable=1)
    assert await one.read(quarter + timedelta(minutes=30), quarter + timedelta(hours=1)) == (
        LlmCounts()
    )


async def test_a_day_in_a_zone_off_by_a_quarter_hour_spans_two_utc_days(
    redis: aioredis.Redis, names: Names
) -> None:
    # Asia/Kathmandu is UTC+5:45: its day D is D-1 18:15 to D 18:15 UTC. Today's (see NOON).
    kathmandu = ZoneInfo("Asia/Kathmandu")
    start = datetime.combine(datetime.now(kathmandu).date(), time(), kathmandu)
    end = start + timedelta(days=1)
    stats = LlmStats(redis, names)
    inside = [start, start + timedelta(hours=8), end - timedelta(seconds=1)]
    outside = [start - timedelta(seconds=1), end]
    for moment in inside:
        await stats.add(LlmCounts(requests=1, failed=1), moment)
    for moment in outside:
        await stats.add(LlmCounts(requests=10, failed=10), moment)
    assert await stats.read(start, end) == LlmCounts(requests=3, failed=3)
    assert await stats.read(start - timedelta(days=1), end + timedelta(days=1)) == LlmCounts(
        requests=23, failed=23
    )


async def test_a_day_is_kept_a_few_days_under_the_prefix_and_tag(
    redis: aioredis.Redis, names: Names
) -> None:
    await LlmStats(redis, names).add(LlmCounts(requests=1), datetime.now(UTC))
    key = names.llm_stats(datetime.now(UTC).date().isoformat())
    assert key.startswith(names.prefix) and "{" in key  # REDIS_KEY_PREFIX, one Cluster slot
    ttl = await redis.ttl(key)
    assert timedelta(days=3) < timedelta(seconds=ttl) <= timedelta(days=4)


async def test_record_writes_in_the_background(redis: aioredis.Redis, names: Names) -> None:
    stats = LlmStats(redis, names)
    stats.record(LlmCounts(requests=2, failed=1), NOON)
    stats.record(LlmCounts())  # nothing to add: no write
    await stats.drain()
    quarter = quarter_of(NOON)
    found = await stats.read(quarter, quarter + timedelta(minutes=15))
    assert found == LlmCounts(requests=2, failed=1)


async def test_a_redis_that_is_gone_or_hangs_costs_the_writer_nothing(names: Names) -> None:
    async with silent_server() as silent:
        gone = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
        hanging = aioredis.Redis(port=silent.port)  # no socket timeout: it would wait for ever
        for redis in (gone, hanging):
            stats = LlmStats(redis, names, write_timeout_s=0.3)
            with capture_logs() as logs:
                stats.record(LlmCounts(requests=1, failed=1))
                # It returned before any write was tried: nothing failed, nothing asked.
                assert (logs, silent.asked_after_failures) == ([], [])
                async with asyncio.timeout(30):  # a guard: a hang fails instead of stalling
                    await stats.drain()  # the write goes out and gives up by its own timeout
            assert [e["event"] for e in logs] == ["llm_stats_not_recorded"]
            await redis.aclose()
        assert silent.asked_after_failures, "the write to the hanging Redis went out"


async def test_counts_recorded_together_are_written_together_after_a_moment(
    redis: aioredis.Redis, names: Names
) -> None:
    """One write per second at most, not one per completion: a busy assistant's counts
    reach Redis summed, per quarter hour, and the last of them when it stops (drain)."""
    stats = LlmStats(redis, names, flush_after_s=0.3)
    later = NOON + timedelta(minutes=20)
    for _ in range(100):
        stats.record(LlmCounts(requests=1), NOON)
    stats.record(LlmCounts(requests=1, failed=1), later)
    quarter = quarter_of(NOON)
    span = (quarter, quarter + timedelta(hours=1))
    assert await stats.read(*span) == LlmCounts()  # nothing written yet
    written = LlmCounts(requests=101, failed=1)

    async def all_written() -> bool:
        return await stats.read(*span) == written

    await until(all_written, 5, "the counts written together")
    stats.record(LlmCounts(requests=5), NOON)
    await stats.drain()  # at once, not after the moment
    assert await stats.read(*span) == LlmCounts(requests=106, failed=1)
    day = await redis.hgetall(names.llm_stats(NOON.date().isoformat()))
    assert {raw(k).decode(): int(v) for k, v in day.items()} == {
        "1200:requests": 105, "1215:requests": 1, "1215:failed": 1,
    }  # fmt: skip


async def test_fields_someone_else_wrote_into_a_day_are_not_counted(
    redis: aioredis.Redis, names: Names
) -> None:
    stats = LlmStats(redis, names)
    await stats.add(LlmCounts(requests=2, failed=1), NOON)
    key = names.llm_stats(NOON.date().isoformat())
    # Not a quarter's `HHMM:name`: a clock that is no time of day, one that is not four digits,
    # no clock at all, and a name that is no count.
    await redis.hset(
        key,
        mapping={"2599:requests": 7, "1275:failed": 7, "12:requests": 7, "x": 7, "1200:cost": 7},
    )
    whole_day = datetime.combine(NOON.date(), datetime.min.time(), UTC)
    assert await stats.read(whole_day, whole_day + timedelta(days=1)) == LlmCounts(
        requests=2, failed=1
    )
