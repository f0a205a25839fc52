"""Per-user limits in real Redis: messages per minute (told once per flood), tokens per UTC
day, and the reset moment every user shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.limits import (
    ClientRateLimit,
    MessageRateLimit,
    TokenBudget,
    seconds_until_reset,
    utc_day,
)
from common.infrastructure.redis_keys import Names

USER = 4242
ZONES = [UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]


def test_the_day_and_its_reset_are_utc_wherever_the_time_was_read() -> None:
    tokyo_morning = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=9)))
    assert utc_day(tokyo_morning) == "2026-03-01"
    assert seconds_until_reset(tokyo_morning) == 1 * 3600
    assert seconds_until_reset(datetime(2026, 3, 2, tzinfo=UTC)) == 24 * 3600
    assert seconds_until_reset(datetime(2026, 3, 2, 23, 59, 59, 500_000, tzinfo=UTC)) == 1


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(ZONES),
    )
)
def test_the_reset_is_the_next_utc_midnight_never_now(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    next_midnight = datetime.combine(utc.date() + timedelta(days=1), datetime.min.time(), UTC)
    reset = utc + timedelta(seconds=seconds_until_reset(moment))
    assert next_midnight <= reset < next_midnight + timedelta(seconds=1)


async def test_without_a_per_minute_limit_every_message_passes_and_is_counted(
    redis: aioredis.Redis, names: Names
) -> None:
    limit = MessageRateLimit(redis, names, per_minute=0)
    admissions = [await limit.admit(USER, f"m{n}") for n in range(20)]
    assert all(a.admitted and a.wait_seconds == 0 and not a.notify for a in admissions)
    assert await limit.messages_today(USER) == 20
    assert await limit.messages_today(USER + 1) == 0


async def test_a_flood_is_refused_with_the_wait_and_told_once(
    redis: aioredis.Redis, names: Names
) -> None:
    limit = MessageRateLimit(redis, names, per_minute=2)
    assert (await limit.admit(USER, "a")).admitted
    assert (await limit.admit(USER, "b")).admitted
    assert (await limit.admit(USER, "a")).admitted  # a replayed update passes again
    first, second = await limit.admit(USER, "c"), await limit.admit(USER, "d")
    assert not first.admitted and first.notify and 1 <= first.wait_seconds <= 60
    assert not second.admitted and not second.notify
    assert (await limit.admit(USER + 1, "a")).admitted  # another user's own window
    assert await limit.messages_today(USER) == 2


async def test_an_api_clients_minute_is_its_own_and_a_retried_request_counts_once(
    redis: aioredis.Redis, names: Names
) -> None:
    limit = ClientRateLimit(redis, names)
    assert (await limit.admit("crm", "r1", per_minute=2, daily=0)).admitted
    assert (await limit.admit("crm", "r2", per_minute=2, daily=0)).admitted
    assert (await limit.admit("crm", "r1", per_minute=2, daily=0)).admitted  # a retry
    refused = await limit.admit("crm", "r3", per_minute=2, daily=0)
    assert not refused.admitted and 1 <= refused.wait_seconds <= 60
    assert (await limit.admit("shop", "r3", per_minute=2, daily=0)).admitted


async def test_an_api_clients_day_once_spent_waits_for_midnight_utc(
    redis: aioredis.Redis, names: Names
) -> None:
    limit = ClientRateLimit(redis, names)
    for n in range(3):
        assert (await limit.admit("crm", f"r{n}", per_minute=0, daily=3)).admitted
    refused = await limit.admit("crm", "r3", per_minute=0, daily=3)
    assert not refused.admitted
    assert abs(refused.wait_seconds - seconds_until_reset()) <= 2
    assert (await limit.admit("crm", "r3", per_minute=0, daily=0)).admitted  # limit lifted


async def test_a_token_budget_refuses_once_the_day_is_spent(
    redis: aioredis.Redis, names: Names
) -> None:
    budget = TokenBudget(redis, names, daily=100)
    await budget.add("u1", 0)
    await budget.add("u1", -5)
    assert await budget.used_today("u1") == 0
    await budget.add("u1", 60)
    assert not await budget.spent("u1")
    await budget.add("u1", 40)
    assert await budget.used_today("u1") == 100
    assert await budget.spent("u1")
    assert not await budget.spent("u2")
    assert 0 < await redis.ttl(names.user_tokens_today("u1", utc_day())) <= 2 * 24 * 3600


async def test_a_budget_of_zero_counts_but_never_refuses(
    redis: aioredis.Redis, names: Names
) -> None:
    budget = TokenBudget(redis, names, daily=0)
    await budget.add("u1", 10**9)
    assert await budget.used_today("u1") == 10**9
    assert not await budget.spent("u1")
