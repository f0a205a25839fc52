"""Reading a Redis stream in tests, as entries of bytes (what a plain client returns)."""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

Entry = tuple[bytes, dict[bytes, bytes]]


async def stream_entries(redis: aioredis.Redis, key: str) -> list[Entry]:
    """Every entry of `key`, oldest first. redis-py types the answer for pipelines and
    decoded clients too; the tests' clients answer bytes."""
    return cast(list[Entry], await redis.xrange(key))
