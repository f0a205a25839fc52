"""A tg_bot process killed with SIGKILL between getUpdates and queueing loses no update and
queues none twice once it is started again."""

from __future__ import annotations

import asyncio
import random

from common.infrastructure.queue_messages import incoming_message_id
from ops.infra import free_port
from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.tests.conftest import incoming, queued_before_a_later_one


def people(count: int) -> list[dict]:
    return [build.user(random.randint(10**8, 10**9), f"User{i}") for i in range(count)]


async def start_bot(stack: Stack, env: dict[str, str]) -> ServiceProcess:
    """Start the bot as a process (on a port of the stack's choosing) without blocking the
    stand-in, which serves from this event loop."""
    env = {name: value for name, value in env.items() if name != "HTTP_PORT"}
    return await asyncio.to_thread(stack.start, "tg_bot", env=env)


async def test_sigkill_between_get_updates_and_queueing_loses_and_doubles_nothing(
    stack, telegram: TelegramStandIn, redis, names, bot_env, rest_service
) -> None:
    group = build.group_chat(-random.randint(10**12, 10**13))
    first = [
        telegram.inject(build.private_text(user, f"before the crash {i}"))
        for i, user in enumerate(people(6))
    ]
    first.append(
        telegram.inject(build.mention(group, people(1)[0], telegram.bot_username, after=" hi"))
    )
    unreachable = f"http://127.0.0.1:{free_port()}"  # rest_service "down": nothing can be queued
    bot = await start_bot(stack, {**bot_env, "REST_SERVICE_URL": unreachable})

    async def handed_out_twice() -> bool:
        return sum(1 for poll in telegram.polls if set(first) <= set(poll.returned)) >= 2

    await until(handed_out_twice, timeout=30)
    assert await incoming(redis, names) == []
    assert await redis.get(names.telegram_bot_offset(telegram.bot_id)) is None
    await asyncio.to_thread(bot.kill)  # SIGKILL, holding updates it could not queue

    second = [
        telegram.inject(build.private_text(user, f"while it was down {i}"))
        for i, user in enumerate(people(3))
    ]
    await start_bot(stack, {**bot_env, "REST_SERVICE_URL": rest_service.url})
    expected = first + second

    async def all_queued() -> bool:
        return len(await incoming(redis, names)) >= len(expected)

    await until(all_queued, timeout=30)
    messages, later = await queued_before_a_later_one(telegram, redis, names)
    assert [m.message_id for m in messages] == [
        incoming_message_id(telegram.bot_id, update_id) for update_id in expected
    ]
    assert [m.text for m in messages][:6] == [f"before the crash {i}" for i in range(6)]
    assert messages[6].text == "hi" and messages[6].chat_id == group["id"]
    assert int(await redis.get(names.telegram_bot_offset(telegram.bot_id))) == later + 1


async def test_sigkill_in_the_middle_of_a_busy_stream_loses_and_doubles_nothing(
    stack, telegram: TelegramStandIn, redis, names, bot_env, rest_service
) -> None:
    env = {**bot_env, "REST_SERVICE_URL": rest_service.url, "POLL_LIMIT": "3"}
    users = people(8)
    expected = [
        telegram.inject(build.private_text(users[i % 8], f"message {i}")) for i in range(60)
    ]
    bot = await start_bot(stack, env)

    async def partly_queued() -> bool:
        return len(await incoming(redis, names)) >= 6

    await until(partly_queued, timeout=30, interval=0.005)
    await asyncio.to_thread(bot.kill)
    assert len(await incoming(redis, names)) < len(expected)
    await start_bot(stack, env)

    async def all_queued() -> bool:
        return len(await incoming(redis, names)) >= len(expected)

    await until(all_queued, timeout=30)
    messages, _ = await queued_before_a_later_one(telegram, redis, names)
    assert [m.text for m in messages] == [f"message {i}" for i in range(60)]
    assert len({m.message_id for m in messages}) == 60
