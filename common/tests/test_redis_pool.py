"""A burst of commands wider than the connection pool waits for a free connection instead
of failing: redis-py 8's pool refuses the 101st concurrent command ("Too many connections"),
which under load failed tg_bot's chat drives (the bench saw `queue_chat_drive_failed`)."""

from __future__ import annotations

import asyncio
import uuid

from common.infrastructure.redis_connection import POOL_CONNECTIONS, create_redis


async def _burst(timeout_s: float | None, redis_url: str, width: int) -> list[object]:
    client = create_redis(redis_url, timeout_s=timeout_s)
    keys = [f"test:pool:{uuid.uuid4().hex}" for _ in range(width)]
    try:
        # Each BLPOP holds its connection for 0.2 s, so all of them are in use at once.
        return await asyncio.gather(*(client.blpop([key], timeout=0.2) for key in keys))
    finally:
        await client.aclose()


async def test_a_worker_burst_wider_than_the_pool_waits_and_succeeds(redis_url: str) -> None:
    width = POOL_CONNECTIONS * 2 + 10
    assert await _burst(None, redis_url, width) == [None] * width


async def test_a_fail_fast_client_waits_for_a_connection_too(redis_url: str) -> None:
    """A client with a timeout waits for a connection up to that timeout; 5 s, since opening
    a hundred connections on a busy machine under coverage took longer than 1 s."""
    width = POOL_CONNECTIONS + 10
    assert await _burst(5.0, redis_url, width) == [None] * width
