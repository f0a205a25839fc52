"""The poller lease against real Redis: one holder at a time, the work stops when the lease
is lost or the process stops, and a released or lapsed lease is taken over."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from tests.waiting import until
from tg_bot.src.domain.poller_lease import PollerLease

TTL_S = 0.6


class Recorder:
    """Work that runs until told to stop and records that it ran."""

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.finished = asyncio.Event()
        self.runs = 0

    async def __call__(self, until: asyncio.Event) -> None:
        self.runs += 1
        self.running.set()
        await until.wait()
        self.running.clear()
        self.finished.set()


def run(lease: PollerLease, work: Recorder, stop: asyncio.Event) -> asyncio.Task[None]:
    return asyncio.create_task(lease.run_while_held(work, stop))


async def within(awaitable: Awaitable[object], seconds: float = 5.0) -> None:
    await asyncio.wait_for(awaitable, seconds)


async def test_only_one_of_two_processes_holds_the_lease_and_the_other_takes_over(
    redis: aioredis.Redis, names: Names
) -> None:
    first, second = PollerLease(redis, names, TTL_S), PollerLease(redis, names, TTL_S)
    first_work, second_work = Recorder(), Recorder()
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first_task = run(first, first_work, first_stop)
    await within(first_work.running.wait())
    second_task = run(second, second_work, second_stop)

    # past the lease's first lifetime (renewed every third of it), the second trying meanwhile
    await until(lambda: first.renewals >= 4 and second.tries >= 4, 10, "renewals and tries")
    assert first.held and not second.held and second_work.runs == 0

    first_stop.set()
    await within(first_task)
    assert first_work.finished.is_set() and not first.held
    await within(second_work.running.wait())  # released on stop: taken over at once
    assert second.held

    second_stop.set()
    await within(second_task)
    assert await redis.get(names.telegram_poller_lease) is None


async def test_a_lost_lease_stops_the_work_and_it_resumes_once_the_lease_is_free(
    redis: aioredis.Redis, names: Names
) -> None:
    lease, work, stop = PollerLease(redis, names, TTL_S), Recorder(), asyncio.Event()
    task = run(lease, work, stop)
    await within(work.running.wait())

    await redis.set(names.telegram_poller_lease, "someone-else", px=int(TTL_S * 1000))
    await within(work.finished.wait())
    assert not lease.held

    await within(work.running.wait())  # the other holder's lease lapsed: running again
    assert lease.held and work.runs == 2
    stop.set()
    await within(task)
