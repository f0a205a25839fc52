"""The Bot API client against the stand-in: Telegram's semantics, failures as types."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from ops.infra import free_port
from ops.services import ROOT
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.src.clients.errors import (
    TelegramConflict,
    TelegramForbidden,
    TelegramNetworkError,
    TelegramParseError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from tg_bot.src.clients.telegram import TelegramClient

ANNA = build.user(42, "Anna")


@pytest.fixture
async def client(telegram: TelegramStandIn) -> AsyncIterator[TelegramClient]:
    async with TelegramClient(
        telegram.url, telegram.token, request_timeout=1.0, retries=1, retry_backoff_s=0.01
    ) as found:
        yield found


async def test_get_me_names_the_bot(client, telegram) -> None:
    me = await client.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, telegram.bot_username, True)


async def test_updates_stay_until_an_offset_above_them_confirms_them(client, telegram) -> None:
    first = telegram.inject(build.private_text(ANNA, "one"))
    second = telegram.inject(build.private_text(ANNA, "two"))
    unconfirmed = await client.get_updates(None, 0, 100, ["message"])
    again = await client.get_updates(None, 0, 100, ["message"])
    assert [u.update_id for u in unconfirmed] == [u.update_id for u in again] == [first, second]
    rest = await client.get_updates(first + 1, 0, 100, ["message"])
    assert [u.update_id for u in rest] == [second]
    assert await client.get_updates(second + 1, 0, 100, ["message"]) == []


async def test_limit_and_negative_offset_behave_as_documented(client, telegram) -> None:
    ids = [telegram.inject(build.private_text(ANNA, str(i))) for i in range(5)]
    assert [u.update_id for u in await client.get_updates(None, 0, 2, ["message"])] == ids[:2]
    tail = await client.get_updates(-2, 0, 100, ["message"])
    assert [u.update_id for u in tail] == ids[-2:]
    assert [u.update_id for u in await client.get_updates(None, 0, 100, ["message"])] == ids[-2:]


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(client, telegram) -> None:
    """A poll of a minute answers the update well inside that minute."""
    poll = asyncio.create_task(client.get_updates(None, 60, 100, ["message"]))
    await until(lambda: telegram.calls.get("getUpdates"), 5, "the poll is in")
    telegram.inject(build.private_text(ANNA, "hello"))
    await until(poll.done, 10, "the poll answered on the update")
    updates = poll.result()
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_a_second_poller_terminates_the_first_with_a_conflict(client, telegram) -> None:
    first = asyncio.create_task(client.get_updates(None, 5, 100, ["message"]))
    await until(lambda: telegram.calls.get("getUpdates"), 5, "the first poll is in")
    second = asyncio.create_task(client.get_updates(None, 1, 100, ["message"]))
    with pytest.raises(TelegramConflict):
        await first
    assert await second == []


async def test_allowed_updates_filters_later_updates(client, telegram) -> None:
    await client.get_updates(None, 0, 100, ["message"])
    assert telegram.inject(build.bot_membership(ANNA, telegram.bot, blocked=True)) == -1
    assert telegram.inject(build.private_text(ANNA, "kept")) > 0


async def test_malformed_html_is_a_parse_error_like_telegram_gives(client) -> None:
    with pytest.raises(TelegramParseError, match="can't parse entities: Unsupported start tag"):
        await client.send_message(42, "1 < 2 <foo>")
    with pytest.raises(TelegramParseError, match="Can't find end tag"):
        await client.send_message(42, "<b>open")


async def test_sent_messages_are_recorded_with_text_entities_and_time(client, telegram) -> None:
    sent = await client.send_message(42, "<b>Hi</b> &amp; bye", reply_to_message_id=7)
    record = telegram.sent_to(42)[0]
    assert sent["message_id"] == record.message_id
    assert (record.text, record.reply_to_message_id) == ("Hi & bye", 7)
    assert record.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert record.at <= time.monotonic()


async def test_forced_429_carries_retry_after(client, telegram) -> None:
    telegram.fail("sendMessage", status=429, retry_after=3, chat_id=42)
    with pytest.raises(TelegramRetryAfter) as caught:
        await client.send_message(42, "x")
    assert caught.value.retry_after == 3
    await client.send_message(43, "other chats are not affected")


async def test_forced_403_is_forbidden(client, telegram) -> None:
    telegram.blocked_chats.add(42)
    with pytest.raises(TelegramForbidden, match="blocked by the user"):
        await client.send_message(42, "x")


async def test_5xx_is_retried_then_raised(client, telegram) -> None:
    telegram.fail("sendMessage", status=502, times=1)
    await client.send_message(42, "after one retry")
    telegram.fail("sendMessage", status=500, times=5)
    with pytest.raises(TelegramServerError):
        await client.send_message(42, "still failing")
    assert telegram.calls["sendMessage"] == 4  # 2 + 2 attempts


async def test_a_hanging_call_is_a_network_error(client, telegram) -> None:
    telegram.fail("sendChatAction", delay=3, status=0, times=1)
    with pytest.raises(TelegramNetworkError):
        await client.send_chat_action(42)


async def test_a_wrong_token_is_unauthorized(telegram) -> None:
    async with TelegramClient(telegram.url, "1:wrong", retries=0) as wrong:
        with pytest.raises(TelegramUnauthorized):
            await wrong.get_me()


async def test_the_control_api_injects_and_reports_over_http(telegram) -> None:
    async with httpx.AsyncClient(base_url=telegram.url) as http:
        injected = await http.post(
            "/control/updates", json={"kind": "voice", "user_id": 5, "language_code": "ru"}
        )
        update_id = injected.json()["update_id"]
        await http.post("/control/errors", json={"method": "sendMessage", "status": 503})
        await http.post("/control/blocked", json={"chat_id": 9})
        sent = (await http.get("/control/sent")).json()
    assert telegram.updates[0]["update_id"] == update_id
    assert "voice" in telegram.updates[0]["message"]
    assert telegram.forced[0].status == 503 and telegram.blocked_chats == {9}
    assert sent == []


@pytest.mark.e2e  # starts processes in its body
def test_the_stand_in_runs_standalone() -> None:
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "sandbox.telegram_api", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    ) as proc:  # fmt: skip
        try:
            line = proc.stdout.readline().decode() if proc.stdout else ""
            assert f"127.0.0.1:{port}" in line
        finally:
            proc.terminate()
            proc.wait(5)
