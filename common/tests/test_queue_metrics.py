"""Queue gauges (common/infrastructure/queue_metrics.py) against real Redis: depth, pending and dead
letters per stream under REDIS_KEY_PREFIX, exported on the consuming worker's /metrics, and a
/metrics that keeps answering while Redis does not."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.queue_metrics import QueueGauges
from common.infrastructure.redis_keys import (
    ASSISTANT_GROUP,
    DRAFTS,
    TELEGRAM_UPDATES,
    TG_BOT_GROUP,
    TO_SECRETARY,
    TO_TELEGRAM,
    Names,
)
from common.infrastructure.settings import ServiceSettings
from common.infrastructure.streams import CONSUMED, WatchedStream
from common.infrastructure.worker import worker_runtime
from ops.infra import free_port
from tests.waiting import until


def gauge(name: str, stream: str) -> float | None:
    return REGISTRY.get_sample_value(f"smart_assistant_queue_{name}", {"stream": stream})


async def fill(redis: aioredis.Redis, names: Names, stream: str, group: str) -> None:
    """Five entries, two of them read and not acknowledged, three dead letters."""
    publisher = StreamPublisher(redis, names)
    for n in range(5):
        message = OutgoingMessage(message_id=uuid.uuid4(), chat_id=n, text=f"m{n}")
        await publisher.publish(stream, message)
    await redis.xgroup_create(names.stream(stream), group, id="0")
    await redis.xreadgroup(group, "reader", {names.stream(stream): ">"}, count=2)
    for n in range(3):
        await redis.xadd(names.dead(stream), {"data": f"dead {n}"})


async def test_gauges_count_depth_pending_and_dead_letters_under_the_prefix(
    redis: aioredis.Redis, names: Names
) -> None:
    await fill(redis, names, TO_SECRETARY, ASSISTANT_GROUP)
    gauges = QueueGauges(redis, names, CONSUMED["assistant"])
    assert await gauges.refresh()
    assert gauge("depth", TO_SECRETARY) == 5
    assert gauge("pending", TO_SECRETARY) == 2
    assert gauge("dead_letters", TO_SECRETARY) == 3
    key = names.stream(TO_SECRETARY)
    pending = await redis.xpending_range(key, ASSISTANT_GROUP, min="-", max="+", count=10)
    finished = pending[0]["message_id"]
    await redis.xack(key, ASSISTANT_GROUP, finished)
    await redis.xdel(key, finished)
    assert await gauges.refresh()
    assert (gauge("depth", TO_SECRETARY), gauge("pending", TO_SECRETARY)) == (4, 1)


async def test_streams_no_one_made_yet_read_as_zero(redis: aioredis.Redis, names: Names) -> None:
    gauges = QueueGauges(redis, names, CONSUMED["tg_bot"])
    assert await gauges.refresh()
    assert gauge("depth", TO_TELEGRAM) == gauge("pending", TO_TELEGRAM) == 0
    assert gauge("dead_letters", TELEGRAM_UPDATES) == 0
    assert gauge("depth", DRAFTS) == gauge("pending", DRAFTS) == 0
    await redis.xadd(names.dead(TELEGRAM_UPDATES), {"data": "{}"})
    assert await gauges.refresh()
    assert gauge("dead_letters", TELEGRAM_UPDATES) == 1


def test_every_consumed_stream_is_watched() -> None:
    watched = {w.stream: w for ws in CONSUMED.values() for w in ws}
    assert watched[TO_SECRETARY] == WatchedStream(TO_SECRETARY, ASSISTANT_GROUP)
    assert watched[TO_TELEGRAM] == WatchedStream(TO_TELEGRAM, TG_BOT_GROUP)
    assert watched[TELEGRAM_UPDATES].entries is False
    assert watched[DRAFTS].group == TG_BOT_GROUP


def refresh_failures() -> float:
    """Refreshes of the queue gauges that failed so far, in this process."""
    return REGISTRY.get_sample_value("smart_assistant_queue_metrics_refresh_failures_total") or 0.0


@dataclass
class Silent:
    """A Redis that hangs: it takes connections and requests and never answers."""

    port: int
    #: Per request received: how many gauge refreshes had failed when it came.
    asked_after_failures: list[float] = field(default_factory=list)

    def refresh_hangs(self) -> bool:
        """A gauge refresh waits on this server now: a request came after the last failure
        (refreshes run one after another, and a hanging one ends only by failing)."""
        return bool(self.asked_after_failures) and (
            self.asked_after_failures[-1] == refresh_failures()
        )


@asynccontextmanager
async def silent_server() -> AsyncIterator[Silent]:
    """Accepts connections, reads what comes and never answers: a Redis that hangs."""
    held: list[asyncio.StreamWriter] = []
    silent = Silent(free_port())

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            silent.asked_after_failures.append(refresh_failures())

    server = await asyncio.start_server(accept, "127.0.0.1", silent.port)
    try:
        yield silent
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


async def test_a_hanging_redis_fails_the_refresh_by_its_own_timeout(names: Names) -> None:
    async with silent_server() as silent:
        redis = aioredis.Redis(port=silent.port)  # no socket timeout: it would wait for ever
        gauges = QueueGauges(redis, names, CONSUMED["assistant"], timeout_s=0.5)
        failures = refresh_failures()
        # Only the refresh's own timeout can end it; the guard only turns a hang into a failure.
        assert not await asyncio.wait_for(gauges.refresh(), 30)
        assert silent.asked_after_failures, "the refresh asked Redis"
        assert refresh_failures() == failures + 1
        await redis.aclose()


def worker_settings(redis_url: str, key_prefix: str) -> ServiceSettings:
    return ServiceSettings(
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=key_prefix,
        http_port=free_port(),
        log_format="json",
    )


async def scrape(port: int) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_the_consuming_worker_exports_its_streams_on_metrics(
    redis: aioredis.Redis, redis_url: str, key_prefix: str, names: Names
) -> None:
    await fill(redis, names, TO_TELEGRAM, TG_BOT_GROUP)
    settings = worker_settings(redis_url, key_prefix)
    async with worker_runtime("tg_bot", settings, asyncio.Event()):

        async def two_pending() -> str:
            text = (await scrape(settings.port)).text
            pending = 'smart_assistant_queue_pending{stream="queue:to_telegram"} 2.0'
            return text if pending in text else ""

        text = await until(two_pending, 10, "two entries pending in the metrics")
    assert 'smart_assistant_queue_depth{stream="queue:to_telegram"} 5.0' in text
    assert 'smart_assistant_queue_dead_letters{stream="queue:to_telegram"} 3.0' in text
    assert 'smart_assistant_queue_dead_letters{stream="tg_bot:updates"}' in text
    assert 'smart_assistant_queue_depth{stream="queue:drafts"}' in text


def assert_gauges_answered(answer: httpx.Response) -> None:
    assert answer.status_code == 200
    assert "smart_assistant_queue_depth" in answer.text


@pytest.mark.parametrize("down", ["hanging", "refused"])
async def test_metrics_answer_while_redis_is_down(key_prefix: str, down: str) -> None:
    """A scrape never waits on Redis: it is answered while a refresh hangs on a Redis that
    does not answer, and once a refresh has failed on a Redis that refuses connections."""
    async with silent_server() as silent:
        url = f"redis://127.0.0.1:{silent.port if down == 'hanging' else free_port()}/0"
        settings = worker_settings(url, key_prefix)
        failed = refresh_failures()
        async with worker_runtime("assistant", settings, asyncio.Event()):
            if down == "hanging":

                async def answered_while_a_refresh_hangs() -> bool:
                    await until(silent.refresh_hangs, 20, "a refresh waiting on Redis")
                    before = refresh_failures()
                    assert_gauges_answered(await scrape(settings.port))
                    # No failure since: the refresh that hung before the scrape still hangs
                    # (a scrape that waited for a refresh would see one fail).
                    return refresh_failures() == before

                await until(answered_while_a_refresh_hangs, 30, "a scrape during a hang")
            else:
                await until(lambda: refresh_failures() > failed, 20, "a refresh failed")
                assert_gauges_answered(await scrape(settings.port))


async def test_a_refusal_other_than_no_group_fails_the_refresh_instead_of_reading_zero(
    redis: aioredis.Redis, redis_url: str, names: Names
) -> None:
    """A Redis user whose ACL allows XLEN but not XPENDING: the pending gauge must not read
    0 (nothing waiting) when Redis said nothing about it. The refresh fails and is counted."""
    await fill(redis, names, TO_SECRETARY, ASSISTANT_GROUP)
    user, password = f"gauges-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await redis.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        commands=["+ping", "+hello", "+client", "+xlen"],
    )
    try:
        limited = aioredis.Redis.from_url(redis_url, username=user, password=password)
        gauges = QueueGauges(limited, names, CONSUMED["assistant"])
        failures = refresh_failures()
        with capture_logs() as logs:
            assert not await gauges.refresh()
        assert refresh_failures() == failures + 1
        [warning] = [e for e in logs if e["event"] == "queue_metrics_unavailable"]
        assert "NoPermissionError" in warning["error"] and "xpending" in warning["error"].lower()
        await limited.aclose()
    finally:
        await redis.acl_deluser(user)
