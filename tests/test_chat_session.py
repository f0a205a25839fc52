"""`./manage.py chat`'s wait for an answer, against real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from ops.chat import ChatSession, ChatTimeout


@pytest.mark.parametrize("timeout", [0.0005, 0.001, 0.0015])
async def test_a_wait_with_under_a_millisecond_left_ends_instead_of_blocking_for_ever(
    redis: aioredis.Redis, names: Names, timeout: float
) -> None:
    """The last read's block was `int(left * 1000)`: 0 under a millisecond left, which Redis
    takes as "block until an entry comes" (a chat with no assistant hung)."""
    session = ChatSession(redis, names, None, 1, "cli", None)  # type: ignore[arg-type]  # no REST here
    with pytest.raises(ChatTimeout):
        await asyncio.wait_for(session._answer_to("no-such-message", timeout), 10)
