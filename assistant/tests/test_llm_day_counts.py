"""The gateway's per-day counts for the admin dashboard (`common/features/llm_stats.py`), against
the LLM stand-in: each failed request counts once, a model skipped by its open breaker does not, a
streamed completion counts like any other, and a Redis that is gone fails no completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from assistant.src.clients.llm import LlmGateway, ModelRoute
from assistant.src.clients.llm_breaker import CircuitBreaker
from assistant.src.settings import Settings
from common.features.llm_stats import LlmCounts, LlmStats
from common.infrastructure.redis_keys import Names
from ops.infra import free_port
from sandbox.llm_server import LlmStandIn

HELLO = [{"role": "user", "content": "hello"}]


async def no_key(_provider_id: str) -> str | None:
    return None


def routes(llm: LlmStandIn) -> list[ModelRoute]:
    return [ModelRoute(m, llm.base_url) for m in ("primary", "fallback")]


async def today(stats: LlmStats) -> LlmCounts:
    now = datetime.now(UTC)
    return await stats.read(now - timedelta(hours=1), now + timedelta(hours=1))


async def test_breaker_skips_are_fallbacks_without_failed_requests(
    llm: LlmStandIn, settings: Settings, redis: aioredis.Redis, names: Names
) -> None:
    stats = LlmStats(redis, names)
    breaker = CircuitBreaker(redis, names, failures=2, window_s=60, cooldown_s=60, probe_ttl_s=5)
    gateway = LlmGateway(settings, no_key, breaker, stats)
    llm.fail(503, model="primary", times=None)
    sink: list[str] = []

    async def hear(text: str) -> None:
        sink.append(text)

    try:
        # 2 failures open the breaker; the fallback answers (streamed).
        assert (await gateway.complete(routes(llm), HELLO, on_text=hear)).model == "fallback"
        # The primary is skipped without a request: no failure, still a fallback.
        assert (await gateway.complete(routes(llm), HELLO)).model == "fallback"
    finally:
        await gateway.aclose()
    assert sink
    assert await today(stats) == LlmCounts(requests=4, failed=2, fallbacks=2)


async def test_a_redis_that_is_gone_fails_no_completion(
    llm: LlmStandIn, settings: Settings, names: Names
) -> None:
    gone = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    gateway = LlmGateway(settings, no_key, None, LlmStats(gone, names, write_timeout_s=0.3))
    llm.reply("still here")
    try:
        assert (await gateway.complete(routes(llm), HELLO)).content == "still here"
    finally:
        await gateway.aclose()
        await gone.aclose()
