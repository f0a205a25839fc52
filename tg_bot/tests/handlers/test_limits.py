"""Per-user limits in tg_bot (a user could once flood the bot without bound):
messages past RATE_LIMIT_MESSAGES_PER_MINUTE are not queued for the assistant, the first of
them is answered politely once; /usage shows the sender's own figures."""

from __future__ import annotations

import asyncio
import random
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.limits import MessageRateLimit, TokenBudget
from common.infrastructure.redis_keys import Names
from sandbox import telegram_updates as build
from tests.waiting import until
from tg_bot.tests.conftest import incoming


def someone(language: str = "en") -> dict:
    return build.user(random.randint(10**8, 10**9), "Flo", username=f"u{uuid.uuid4().hex[:8]}",
                      language_code=language)  # fmt: skip


async def confirmed(redis, names, telegram, update_id: int) -> bool:
    offset = await redis.get(names.telegram_bot_offset(telegram.bot_id))
    return offset is not None and int(offset) > update_id


async def test_a_flood_is_queued_up_to_the_limit_and_refused_once(
    run_bot, telegram, redis, names, rest_url
) -> None:
    flo, other = someone(), someone("ru")
    async with run_bot(RATE_LIMIT_MESSAGES_PER_MINUTE="5"):
        ids = [telegram.inject(build.private_text(flo, f"message {n}")) for n in range(12)]
        telegram.inject(build.private_text(other, "привет, как дела?"))
        await until(lambda: confirmed(redis, names, telegram, ids[-1]))
        [refusal] = await telegram.wait_sent(1, flo["id"])
        later = telegram.inject(build.private_text(other, "later"))  # the flood was dealt with
        await until(lambda: confirmed(redis, names, telegram, later))
    queued = await incoming(redis, names)
    assert [m.text for m in queued if m.chat_id == flo["id"]] == [f"message {n}" for n in range(5)]
    assert [m.text for m in queued if m.chat_id == other["id"]] == ["привет, как дела?", "later"]
    assert "faster than I can read them" in refusal.text and "seconds" in refusal.text
    assert len(telegram.sent_to(flo["id"])) == 1


async def test_usage_shows_the_senders_own_figures(
    run_bot, telegram, redis, names, rest_url
) -> None:
    flo = someone()
    async with run_bot(LLM_DAILY_TOKEN_BUDGET="1000"):
        telegram.inject(build.private_text(flo, "hello there"))
        [message] = await until(lambda: incoming(redis, names))
        await TokenBudget(redis, names, 1000).add(str(message.user_id), 1234)
        telegram.inject(build.command(build.private_chat(flo), flo, "usage"))
        [usage] = await telegram.wait_sent(1, flo["id"])
    assert "AI tokens used: 1 234 of 1 000 (0 left)" in usage.text
    assert "Messages to me: 1" in usage.text and "Active reminders: 0" in usage.text


async def test_usage_in_a_group_points_to_the_private_chat(run_bot, telegram, rest_url) -> None:
    flo, group = someone(), build.group_chat(-random.randint(10**12, 10**13))
    async with run_bot():
        telegram.inject(build.command(group, flo, "usage"))
        [answer] = await telegram.wait_sent(1, group["id"])
    assert "private chat" in answer.text and "tokens" not in answer.text


async def test_usage_and_help_list_the_command(run_bot, telegram, rest_url) -> None:
    flo = someone("ru")
    async with run_bot():
        telegram.inject(build.command(build.private_chat(flo), flo, "help"))
        [help_text] = await telegram.wait_sent(1, flo["id"])
    assert "/usage" in help_text.text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(1, 6),
    ids=st.lists(st.integers(0, 15), min_size=1, max_size=30),
)
def test_the_window_admits_at_most_the_limit_and_tells_once(
    redis_url: str, limit: int, ids: list[int]
) -> None:
    """Any sequence of messages, replays included: at most `limit` distinct ones admitted, a
    replay of an admitted one admitted again, one notice per flood."""

    async def run() -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(redis_url)
        names = Names(f"test:limits:{uuid.uuid4().hex[:8]}:")
        try:
            window = MessageRateLimit(client, names, limit)
            admitted: set[int] = set()
            notices = 0
            for member in ids:
                result = await window.admit(7, str(member))
                if result.admitted:
                    admitted.add(member)
                else:
                    assert member not in admitted and result.wait_seconds >= 1
                notices += result.notify
            distinct = len(dict.fromkeys(ids))
            assert len(admitted) == min(limit, distinct)
            assert notices == (1 if distinct > limit else 0)
            assert await window.messages_today(7) == len(admitted)
        finally:
            keys = [k async for k in client.scan_iter(match=f"{names.prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    asyncio.run(run())
