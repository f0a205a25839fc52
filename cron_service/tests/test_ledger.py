"""The fire ledger in real Redis, in-process: a fire is claimed and sent once, kept until it is
recorded, recorded by one instance at a time; an entry that does not parse is dropped, and one
left under the name of before an upgrade is still found."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs
from structlog.typing import EventDict

from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from cron_service.app.fires import Fire, FireLedger, compose
from cron_service.app.recorder import Recorder
from cron_service.tests.test_fires import NOW, RULES, job_data, planned
from ops.infra import free_port
from tests.waiting import until

LEASE = timedelta(seconds=30)


@pytest.fixture
def ledger(redis: aioredis.Redis, key_prefix: str) -> FireLedger:
    return FireLedger(redis, Names(key_prefix), timedelta(days=1))


@pytest.fixture
def fire() -> Fire:
    return compose(planned(job_data()), NOW, NOW, RULES)[2]


async def test_a_fire_is_sent_once_and_kept_until_it_is_recorded(
    redis: aioredis.Redis, key_prefix: str, ledger: FireLedger
) -> None:
    names = Names(key_prefix)
    stream, message, fire = compose(planned(job_data()), NOW, NOW, RULES)
    assert await ledger.claim_and_publish(stream, message, fire)
    assert not await ledger.claim_and_publish(stream, message, fire)
    assert await redis.xlen(names.stream(TO_TELEGRAM)) == 1
    assert await ledger.unrecorded() == [fire]
    assert await ledger.count_unrecorded() == 1
    assert await ledger.is_unrecorded(fire)
    assert await ledger.take_recording(fire, LEASE)
    assert not await ledger.take_recording(fire, LEASE)  # another instance is at it
    await ledger.mark_recorded(fire)
    assert not await ledger.is_unrecorded(fire)
    assert await ledger.unrecorded() == []
    assert await ledger.take_recording(fire, LEASE)  # the lease went with the record


async def test_an_unreadable_entry_is_dropped_and_a_readable_one_kept(
    redis: aioredis.Redis, key_prefix: str, ledger: FireLedger, fire: Fire
) -> None:
    names = Names(key_prefix)
    table = names.cron_unrecorded_of(TO_TELEGRAM)
    await redis.hset(table, fire.key, fire.to_json())
    await redis.hset(table, "broken", '{"job_id": "j1"}')
    await redis.hset(table, "not-json", "{")
    assert await ledger.count_unrecorded() == 3
    with capture_logs() as logs:
        assert await ledger.unrecorded() == [fire]
    dropped = sorted(e["key"] for e in logs if e["event"] == "unrecorded_fire_unreadable")
    assert dropped == ["b'broken'", "b'not-json'"]
    assert await redis.hlen(table) == 1  # the readable one
    assert await ledger.is_unrecorded(fire)
    await ledger.mark_recorded(fire)
    assert await ledger.count_unrecorded() == 0


async def test_a_fire_rest_service_cannot_take_stays_for_the_sweep(
    redis: aioredis.Redis, key_prefix: str, ledger: FireLedger
) -> None:
    stream, message, fire = compose(planned(job_data()), NOW, NOW, RULES)
    assert await ledger.claim_and_publish(stream, message, fire)
    async with RestClient(f"http://127.0.0.1:{free_port()}", "token", retries=0) as down:
        recorder = Recorder(down, ledger, concurrency=2)
        # Both sweeps before the recorder runs: once it has tried (and failed), the fire is
        # rightly queued again, so a second sweep racing it could count 1 as well as 0.
        assert await recorder.sweep(timedelta(0)) == 1
        assert await recorder.sweep(timedelta(0)) == 0  # queued already
        with capture_logs() as logs:
            running = asyncio.create_task(recorder.run())
            try:
                await until(lambda: _logged(logs, "fire_record_failed"), 20, "the failed recording")
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
    failed = next(e for e in logs if e["event"] == "fire_record_failed")
    assert failed["error_type"] == "RestServiceUnavailable"
    assert await ledger.unrecorded() == [fire]
    with recorder.held():  # while a burst goes out, a sweep queues nothing
        assert await recorder.sweep(timedelta(0)) == 0


async def _logged(logs: list[EventDict], event: str) -> bool:
    return any(entry["event"] == event for entry in logs)
