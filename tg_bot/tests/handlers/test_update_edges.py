"""Updates at their edges, through the real bot and the Telegram stand-in: a message the bot
cannot handle is answered with an apology (not silence, and not retried for ever); the bot's
own membership changes in a group, or from someone it never met, change no one's account."""

from __future__ import annotations

import random
from typing import Any

import pytest

from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.tests.conftest import incoming, queued_before_a_later_one
from tg_bot.tests.handlers.test_commands import shown


def someone(first_name: str = "Anna", language: str = "en") -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), first_name, language_code=language)


async def test_a_message_the_bot_cannot_handle_gets_an_apology_and_the_next_goes_on(
    run_bot, rest_url: str, telegram: TelegramStandIn, redis, names, rest: RestClient
) -> None:
    """rest_service keeps first names of up to 255 characters (Telegram's own limit is far
    lower): a sender claiming a longer one cannot be registered, which no retry mends."""
    odd, anna = someone("A" * 300, "ru"), someone()
    async with run_bot():
        refused = telegram.inject(build.private_text(odd, "привет"))
        [apology] = await telegram.wait_sent(1, odd["id"])
        telegram.inject(build.private_text(anna, "hello"))
        [queued] = await until(lambda: incoming(redis, names))

        async def moved_on() -> bool:
            offset = await redis.get(names.telegram_bot_offset(telegram.bot_id))
            return offset is not None and int(offset) > refused

        await until(moved_on)
    assert apology.text == shown("ru", "error.generic")
    assert queued.chat_id == anna["id"]
    assert len(telegram.sent_to(odd["id"])) == 1  # once: the update was not tried again


async def test_the_bot_added_to_or_removed_from_a_group_changes_no_account(
    run_bot, rest_url: str, telegram: TelegramStandIn, redis, names, rest: RestClient
) -> None:
    anna = someone()
    group = build.group_chat(-random.randint(10**12, 10**13))
    added = build.bot_membership(anna, telegram.bot, blocked=False)
    added["my_chat_member"]["chat"] = group
    removed = build.bot_membership(anna, telegram.bot, blocked=True)
    removed["my_chat_member"]["chat"] = group
    async with run_bot():
        telegram.inject(added)
        telegram.inject(removed)
        queued, _ = await queued_before_a_later_one(telegram, redis, names)
    assert queued == []
    assert telegram.sent_to(group["id"]) == [] and telegram.sent_to(anna["id"]) == []
    with pytest.raises(NotFoundError):  # no account made, none marked
        await rest.get_user_by_telegram(anna["id"])


async def test_someone_the_bot_never_met_blocking_it_registers_no_one(
    run_bot, rest_url: str, telegram: TelegramStandIn, redis, names, rest: RestClient
) -> None:
    stranger, anna = someone(), someone()
    async with run_bot():
        telegram.inject(build.bot_membership(stranger, telegram.bot, blocked=True))
        telegram.inject(build.private_text(anna, "first"))
        await until(lambda: incoming(redis, names))
        # Anna blocks the bot twice (a redelivery): blocked once, no error.
        telegram.inject(build.bot_membership(anna, telegram.bot, blocked=True))
        telegram.inject(build.bot_membership(anna, telegram.bot, blocked=True))
        await queued_before_a_later_one(telegram, redis, names)
    with pytest.raises(NotFoundError):  # blocking the bot registers no one
        await rest.get_user_by_telegram(stranger["id"])
    assert (await rest.get_user_by_telegram(anna["id"])).blocked
