""" "typing…" under load: a Redis pool that is momentarily exhausted neither kills a chat's
typing loop nor leaves "Task exception was never retrieved" behind."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from common.messages import OutgoingMessage
from common.names import Names
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.workers.typing import TypingIndicator

CHATS = range(701, 706)


@pytest.fixture
async def small_pool(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """One connection for everything: a second concurrent command gets MaxConnectionsError."""
    client = aioredis.Redis.from_url(redis_url, max_connections=1)
    yield client
    await client.aclose()


@pytest.fixture
async def unhandled() -> list[dict[str, Any]]:
    """What reaches the event loop's exception handler (an exception nobody retrieved)."""
    found: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: found.append(ctx))
    return found


async def _answered(typing: TypingIndicator, answer: OutgoingMessage) -> None:
    """As the sender does: a Redis error fails the handling, and the queue retries it."""
    for _ in range(50):
        try:
            return await typing.answered(answer)
        except MaxConnectionsError:
            await asyncio.sleep(0.01)
    raise AssertionError("the pool never had a free connection")


async def test_an_exhausted_pool_delays_typing_but_loses_no_chat_and_leaks_no_error(
    telegram: TelegramStandIn, redis, small_pool, names: Names, unhandled
) -> None:
    questions = {chat: str(uuid.uuid4()) for chat in CHATS}
    for chat, question in questions.items():
        await redis.zadd(names.telegram_typing(chat), {question: time.time()})
    async with TelegramClient(telegram.url, telegram.token, retries=0) as client:
        typing = TypingIndicator(client, small_pool, names, interval_s=0.05, max_s=30)
        holder = asyncio.create_task(small_pool.blpop([names.key("never")], timeout=0.5))
        await asyncio.sleep(0.05)  # the pool's only connection is now busy
        for chat in CHATS:
            typing.show(chat)
        await holder
        await until(lambda: {a.chat_id for a in telegram.actions} >= set(CHATS))
        for chat, question in questions.items():
            answer = OutgoingMessage(
                message_id=uuid.uuid4(), chat_id=chat, text="done", correlation_id=question
            )
            await _answered(typing, answer)
        await typing.close()
    gc.collect()
    await asyncio.sleep(0)
    assert [ctx.get("message") for ctx in unhandled] == []
