"""PTB's request layer on aiohttp: its timeouts and its connection bound hold."""

from __future__ import annotations

import asyncio
import time

import pytest

from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.clients.errors import TelegramNetworkError
from tg_bot.src.clients.telegram import TelegramClient


async def test_a_call_slower_than_the_timeout_ends_at_the_timeout(telegram) -> None:
    telegram.fail("sendMessage", delay=5, status=0)
    async with TelegramClient(telegram.url, telegram.token, request_timeout=0.5, retries=0) as c:
        started = time.monotonic()
        with pytest.raises(TelegramNetworkError):
            await c.send_message(42, "x")
        assert time.monotonic() - started < 3


async def test_a_long_poll_waits_past_the_request_timeout(telegram: TelegramStandIn) -> None:
    async with TelegramClient(telegram.url, telegram.token, request_timeout=0.3) as c:
        poll = asyncio.create_task(c.get_updates(None, 2, 100, ["message"]))
        await asyncio.sleep(1.0)
        assert not poll.done()
        assert await poll == []


async def test_calls_beyond_the_pool_wait_for_a_connection(telegram: TelegramStandIn) -> None:
    telegram.latency = 0.2
    async with TelegramClient(telegram.url, telegram.token, max_connections=2) as c:
        started = time.monotonic()
        await asyncio.gather(*(c.send_chat_action(chat) for chat in range(6)))
        assert time.monotonic() - started >= 0.6  # three rounds of two
    assert [telegram.actions_in(chat)[0].action for chat in range(6)] == ["typing"] * 6
