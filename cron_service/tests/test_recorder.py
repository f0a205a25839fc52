"""Recording what went out, in-process against real rest_service and Redis: a fire of a job
deleted meanwhile is recorded as far as it can be and then forgotten (not retried forever), a
late recording never moves a job's last run back, and Redis failing under a recording costs
that recording only, not the recorder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from structlog.testing import capture_logs

from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob
from cron_service.app.fires import Fire, FireLedger, FireRules, compose
from cron_service.app.jobs import plan
from cron_service.app.recorder import Recorder
from cron_service.tests.conftest import runs_of
from tests.tcp_proxy import TcpProxy
from tests.users import make_user
from tests.waiting import until

RULES = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))


@pytest.fixture
def names(key_prefix: str) -> Names:
    """A ledger of this test's own: the scheduler's tests leave fires unrecorded in theirs."""
    return Names(key_prefix)


@pytest.fixture
def ledger(redis: aioredis.Redis, names: Names) -> FireLedger:
    return FireLedger(redis, names, timedelta(days=1))


@contextlib.asynccontextmanager
async def recording(recorder: Recorder) -> AsyncIterator[None]:
    running = asyncio.create_task(recorder.run())
    try:
        yield
    finally:
        running.cancel()
        stopped, _ = await asyncio.wait({running}, timeout=10)
        assert stopped, "the recorder did not stop when cancelled"


async def daily(rest: RestClient) -> CronJob:
    user = await make_user(rest)
    return await rest.create_cron_job(
        name="daily",
        chat_id=user.telegram_id,
        user_id=user.id,
        text="water the plants",
        cron_expression="0 9 * * *",
        timezone="UTC",
    )


async def published(ledger: FireLedger, job: CronJob, scheduled_for: datetime) -> Fire:
    stream, message, fire = compose(plan(job, "UTC"), scheduled_for, scheduled_for, RULES)
    assert await ledger.claim_and_publish(stream, message, fire)
    return fire


def _nine(days_ago: int) -> datetime:
    return datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )


async def test_a_fire_of_a_job_deleted_meanwhile_is_forgotten_not_retried(
    rest: RestClient, ledger: FireLedger
) -> None:
    job = await daily(rest)
    fire = await published(ledger, job, _nine(1))
    await rest.delete_cron_job(job.id)
    recorder = Recorder(rest, ledger, concurrency=1)
    with capture_logs() as logs:
        async with recording(recorder):
            recorder.submit(fire)
            await until(lambda: any(e["event"] == "fire_recorded" for e in logs), 20, "recorded")
    assert any(entry["event"] == "fire_job_gone" for entry in logs)
    assert not any(entry["event"] == "fire_record_failed" for entry in logs)
    assert await ledger.unrecorded() == [], "the sweep will not try it again"


async def test_a_late_recording_does_not_move_the_last_run_back(
    rest: RestClient, ledger: FireLedger
) -> None:
    """Another instance already recorded a later occurrence (this one's recording was cut
    short and swept afterwards): the run is added, the job's last run stays where it is."""
    job = await daily(rest)
    older, newer = _nine(2), _nine(1)
    job = await rest.update_cron_job(job.id, last_run_at=newer)
    fire = await published(ledger, job, older)
    recorder = Recorder(rest, ledger, concurrency=1)
    async with recording(recorder):
        recorder.submit(fire)
        await until(lambda: _recorded(ledger), 20, "the fire recorded")
    runs = await runs_of(rest, job.id)
    assert [run.scheduled_for for run in runs] == [older]
    assert (await rest.get_cron_job(job.id)).last_run_at == newer


async def _recorded(ledger: FireLedger) -> bool:
    return await ledger.unrecorded() == []


async def test_redis_failing_under_a_recording_leaves_the_fire_and_the_recorder_working(
    rest: RestClient, ledger: FireLedger, redis_url: str, names: Names
) -> None:
    job = await daily(rest)
    fire = await published(ledger, job, _nine(1))
    url = urlsplit(redis_url)
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 6379)
    client = aioredis.Redis(
        host="127.0.0.1",
        port=proxy.port,
        db=int(url.path[1:] or 0),
        retry=Retry(NoBackoff(), 0),  # the recorder's handling under test, not the client's
        socket_timeout=5,
        socket_connect_timeout=5,
    )
    recorder = Recorder(rest, FireLedger(client, names, timedelta(days=1)), concurrency=1)
    try:
        with capture_logs() as logs:
            async with recording(recorder):
                recorder.submit(fire)  # Redis refuses: the recording cannot even start
                await until(
                    lambda: any(e["event"] == "fire_record_crashed" for e in logs), 20, "crash"
                )
                assert await ledger.unrecorded() == [fire], "kept for the sweep"

                await proxy.start()
                recorder.submit(fire)  # the same worker, once Redis is back
                await until(lambda: _recorded(ledger), 20, "the fire recorded")
        crashed = next(e for e in logs if e["event"] == "fire_record_crashed")
        assert crashed["job_id"] == str(job.id)
        assert [run.scheduled_for for run in await runs_of(rest, job.id)] == [fire.scheduled_for]
    finally:
        await client.aclose()
        await proxy.stop()
