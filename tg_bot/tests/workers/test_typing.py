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

from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import Names
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.workers.typing import TypingIndicator

CHATS = range(701, 706)


@pytest.fixture
async def small_pool(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """One connection for everything: a second concurrent command gets MaxConnectionsError.
    Named, so Redis's client list shows what it is doing."""
    name = f"small-pool-{uuid.uuid4().hex[:8]}"
    client = aioredis.Redis.from_url(redis_url, max_connections=1, client_name=name)
    yield client
    await client.aclose()


async def blocked_in(redis: aioredis.Redis, client_name: str, command: str) -> bool:
    """Whether Redis sees the connection named `client_name` waiting in `command`."""
    clients = await redis.client_list()
    return any(c.get("name") == client_name and c.get("cmd") == command for c in clients)


@pytest.fixture
async def unhandled() -> list[dict[str, Any]]:
    """What reaches the event loop's exception handler (an exception nobody retrieved)."""
    found: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: found.append(ctx))
    return found


async def _answered(typing: TypingIndicator, answer: OutgoingMessage) -> None:
    """As the sender does: a Redis error fails the handling, and the queue retries it."""

    async def handled() -> bool:
        try:
            await typing.answered(answer)
        except MaxConnectionsError:
            return False
        return True

    await until(handled, 10, "the pool had a free connection")


async def test_an_exhausted_pool_delays_typing_but_loses_no_chat_and_leaks_no_error(
    telegram: TelegramStandIn, redis, small_pool, names: Names, unhandled
) -> None:
    questions = {chat: str(uuid.uuid4()) for chat in CHATS}
    for chat, question in questions.items():
        await redis.zadd(names.telegram_typing(chat), {question: time.time()})
    async with TelegramClient(telegram.url, telegram.token, retries=0) as client:
        typing = TypingIndicator(client, small_pool, names, interval_s=0.05, max_s=30)
        holder = asyncio.create_task(small_pool.blpop([names.key("never")], timeout=0.5))
        name = small_pool.get_connection_kwargs()["client_name"]
        await until(lambda: blocked_in(redis, name, "blpop"), 10, "the pool's only connection busy")
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


async def test_a_chat_that_blocked_the_bot_is_not_shown_typing_again(
    telegram: TelegramStandIn, redis, names: Names
) -> None:
    """A 403 ends that chat's loop, though its question still waits; another chat goes on."""
    blocked, other = 711, 712
    for chat in (blocked, other):
        await redis.zadd(names.telegram_typing(chat), {str(uuid.uuid4()): time.time()})
    telegram.fail("sendChatAction", status=403, chat_id=blocked)
    async with TelegramClient(telegram.url, telegram.token, retries=0) as client:
        typing = TypingIndicator(client, redis, names, interval_s=0.05, max_s=30)
        typing.show(blocked)
        await until(lambda: telegram.rejected, 10, "the 403")
        typing.show(other)
        await until(lambda: len(telegram.actions_in(other)) >= 3, 10, "the other chat typing")
        await typing.close()
    assert telegram.actions_in(blocked) == []
    assert [r.chat_id for r in telegram.rejected] == [blocked]


async def test_a_notification_does_not_end_the_typing_for_a_question(redis, names: Names) -> None:
    """A reminder firing meanwhile is no answer to the question the user asked."""
    chat, question = 713, str(uuid.uuid4())
    await redis.zadd(names.telegram_typing(chat), {question: time.time()})
    async with TelegramClient("http://127.0.0.1:9", "1:x", retries=0) as client:
        typing = TypingIndicator(client, redis, names, interval_s=0.05, max_s=30)
        reminder = OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=chat, text="⏰", kind=OutgoingKind.NOTIFICATION
        )
        await typing.answered(reminder)
    assert await redis.zrange(names.telegram_typing(chat), 0, -1) == [question.encode()]
