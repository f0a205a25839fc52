"""One way to open Redis for every service: retries on connection errors, health checks."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def create_redis(url: str) -> aioredis.Redis:
    """A pooled client that reconnects by itself after a Redis restart."""
    return aioredis.Redis.from_url(
        url,
        # redis-py 8 defaults to a 5 s socket timeout, which sends every command through
        # asyncio.wait_for; on Python 3.11 that can swallow a task's cancellation (a
        # cancelled worker task then keeps running). No timeout, as before redis-py 8;
        # keepalive and the health check find dead connections.
        socket_timeout=None,
        health_check_interval=15,
        socket_connect_timeout=5,
        socket_keepalive=True,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=5),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


async def redis_health(redis: aioredis.Redis) -> dict[str, object]:
    await redis.ping()
    return {}
