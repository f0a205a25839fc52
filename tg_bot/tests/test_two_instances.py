"""Two tg_bot processes on one bot token: one polls getUpdates (it holds the poller lease),
both send; when the poller dies the other takes polling over. No update is queued twice and
Telegram never sees two long polls at once (it would answer 409 Conflict)."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from common.infrastructure.queue_messages import OutgoingMessage, incoming_message_id
from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.tests.conftest import incoming, queued_before_a_later_one

LEASE_SECONDS = 1.0


async def start_bot(stack: Stack, env: dict[str, str], name: str) -> ServiceProcess:
    env = {key: value for key, value in env.items() if key != "HTTP_PORT"}
    return await asyncio.to_thread(stack.start, "tg_bot", name=name, env=env)


async def role(bot: ServiceProcess) -> str:
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"{bot.url}/health", timeout=5)).json()
    return health["checks"]["telegram"]["role"]


async def poller_of(*bots: ServiceProcess) -> ServiceProcess:
    """The one bot reporting itself the poller, once there is exactly one."""

    async def exactly_one() -> ServiceProcess | None:
        pollers = [bot for bot in bots if bot.running and await role(bot) == "poller"]
        return pollers[0] if len(pollers) == 1 else None

    return await until(exactly_one, timeout=15)


def private_texts(telegram: TelegramStandIn, label: str, count: int) -> list[int]:
    people = [build.user(random.randint(10**8, 10**9), f"User{i}") for i in range(count)]
    return [
        telegram.inject(build.private_text(person, f"{label} {i}"))
        for i, person in enumerate(people)
    ]


async def all_queued(telegram, redis, names, update_ids: list[int]) -> None:
    async def done() -> bool:
        return len(await incoming(redis, names)) >= len(update_ids)

    await until(done, timeout=20)
    messages, _ = await queued_before_a_later_one(telegram, redis, names)
    queued = [m.message_id for m in messages]
    assert queued == [incoming_message_id(telegram.bot_id, u) for u in update_ids]


def sent_by(bot: ServiceProcess) -> int:
    return sum(1 for line in bot.logs().splitlines() if '"answer_sent"' in line)


def conflicts(bot: ServiceProcess) -> int:
    return sum(1 for line in bot.logs().splitlines() if "Conflict" in line)


async def test_one_of_two_bots_polls_both_send_and_the_other_takes_over(
    stack: Stack, telegram: TelegramStandIn, redis, names, bot_env, rest_service
) -> None:
    env = {
        **bot_env,
        "REST_SERVICE_URL": rest_service.url,
        "POLLER_LEASE_SECONDS": str(LEASE_SECONDS),
        "SEND_CONCURRENCY": "1",
    }
    bots = await asyncio.gather(
        start_bot(stack, env, "tg_bot-a"), start_bot(stack, env, "tg_bot-b")
    )
    poller = await poller_of(*bots)
    [sender] = [bot for bot in bots if bot is not poller]
    assert await role(sender) == "sender"

    before = private_texts(telegram, "before", 6)
    await all_queued(telegram, redis, names, before)

    telegram.latency = 0.05  # slow sends, so both processes get some of the answers
    chats = [random.randint(10**8, 10**9) for _ in range(20)]
    for chat in chats:
        answer = OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat, text="hello")
        await redis.xadd(names.to_telegram, {"data": answer.to_json()})
    await telegram.wait_sent(len(chats), timeout=20)
    assert sorted(m.chat_id for m in telegram.sent) == sorted(chats)
    assert sent_by(poller) > 0 and sent_by(sender) > 0

    await asyncio.to_thread(poller.kill)
    after = private_texts(telegram, "after", 4)
    await all_queued(telegram, redis, names, before + after)
    assert await poller_of(*bots) is sender
    assert conflicts(poller) == conflicts(sender) == 0
