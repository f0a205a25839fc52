"""The Redis memory bench (bench/redis_memory.py) still runs through the services' own code
on a real Redis, measures each phase, sizes 10 000 users from it and leaves no key behind."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bench.redis_memory import KEPT_DAYS, SIZED_USERS, measure, report, sizing


async def test_a_tiny_run_measures_every_phase_and_cleans_up(
    redis_url: str, redis: aioredis.Redis, key_prefix: str
) -> None:
    phases = await measure(redis_url, 12, messages_per_day=1, max_messages=30, prefix=key_prefix)
    assert KEPT_DAYS == 7
    assert {name: p.count for name, p in phases.items()} == {
        "messages": 30,  # fewer than 12 users × 1 a day × 7 days: capped
        "users": 12,
        "backlog": 1,
    }
    # Each message leaves its two done records, the answered mark and the sent-part mark.
    assert phases["messages"].own >= 30 * 4 * 50
    assert all(p.own > 0 and p.per_item > 0 for p in phases.values())
    assert [key async for key in redis.scan_iter(match=f"{key_prefix}*")] == []
    rows = sizing(phases, messages_per_day=1)
    assert [what for what, _, _ in rows][-1] == "total"
    assert rows[-1][2] == pytest.approx(sum(mb for _, _, mb in rows[:-1]))
    assert rows[0][1] == f"{SIZED_USERS * KEPT_DAYS:,}"
    assert "| messages | 30 |" in report(phases, 1)
