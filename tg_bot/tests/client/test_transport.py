"""PTB's request layer on aiohttp: its timeouts and its connection bound hold."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.clients.errors import TelegramNetworkError
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.clients.transport import AiohttpRequest


async def test_a_call_slower_than_the_timeout_ends_at_the_timeout(telegram) -> None:
    """The call gives up as timed out while the stand-in still holds it: nothing was sent."""
    telegram.fail("sendMessage", delay=5, status=0)
    async with TelegramClient(telegram.url, telegram.token, request_timeout=0.5, retries=0) as c:
        with pytest.raises(TelegramNetworkError, match=r"(?i)timed out|timeout"):
            await c.send_message(42, "x")
    assert telegram.calls["sendMessage"] == 1 and not telegram.sent


async def test_a_long_poll_waits_past_the_request_timeout(telegram: TelegramStandIn) -> None:
    async with TelegramClient(telegram.url, telegram.token, request_timeout=0.3) as c:
        # Cut at the request timeout, the poll would raise instead of ending empty.
        assert await c.get_updates(None, 1, 100, ["message"]) == []


async def test_calls_beyond_the_pool_wait_for_a_connection(telegram: TelegramStandIn) -> None:
    """At most two calls at the stand-in at once, and two at once when six are waiting."""
    telegram.latency = 0.2
    accept = telegram._send_chat_action
    in_flight: list[int] = []

    async def counting(params):
        in_flight.append(telegram.calls["sendChatAction"] - len(telegram.actions))
        return await accept(params)

    telegram._send_chat_action = counting  # type: ignore[method-assign]  # the stand-in's handler is swapped to count calls
    async with TelegramClient(telegram.url, telegram.token, max_connections=2) as c:
        await asyncio.gather(*(c.send_chat_action(chat) for chat in range(6)))
    assert max(in_flight) == 2, in_flight
    assert [telegram.actions_in(chat)[0].action for chat in range(6)] == ["typing"] * 6


async def test_the_request_layer_refuses_to_call_after_shutdown(telegram: TelegramStandIn) -> None:
    """A call racing the client's shutdown fails saying so; it does not open a session
    nobody would close."""
    request = AiohttpRequest(connections=2, timeout=1.0, media_write_timeout=5.0)
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        await request.do_request(f"{telegram.url}/bot{telegram.token}/getMe", "POST")
    assert "getMe" not in telegram.calls
