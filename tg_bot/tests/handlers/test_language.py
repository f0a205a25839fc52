"""The bot's own texts follow the language the user writes in; Telegram's `language_code`
(the app's language) is only the default. Through the Telegram stand-in and rest_service."""

from __future__ import annotations

import random

from common.infrastructure.redis_keys import Names
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.src.handlers.language import RECENT_LANGUAGE_TTL_S
from tg_bot.tests.conftest import incoming
from tg_bot.tests.handlers.test_commands import Chat, shown


async def write(chat: Chat, redis, names: Names, text: str) -> None:
    """A text for the assistant: no reply from the bot, so wait until it is queued."""
    before = len(await incoming(redis, names))
    chat.telegram.inject(build.private_text(chat.user, text))

    async def queued() -> bool:
        return len(await incoming(redis, names)) > before

    await until(queued)


def english_app_user(name: str = "Ivan") -> dict:
    return build.user(random.randint(10**8, 10**9), name, language_code="en")


async def test_russian_text_then_help_gets_russian_help_in_an_english_app(
    run_bot, telegram: TelegramStandIn, redis, names, rest_url
) -> None:
    chat = Chat(telegram, english_app_user())
    async with run_bot():
        await write(chat, redis, names, "Привет! Напомни мне завтра позвонить маме")
        help_text = await chat.text("/help")
    assert help_text.startswith(shown("ru", "help.text", commands="")[:20])
    assert "/help — " in help_text


async def test_texts_without_a_signal_keep_the_recent_language(
    run_bot, telegram: TelegramStandIn, redis, names, rest_url
) -> None:
    chat = Chat(telegram, english_app_user())
    async with run_bot():
        await write(chat, redis, names, "какая погода в Москве?")
        await write(chat, redis, names, "ok")
        await write(chat, redis, names, "👍")
        assert await chat.text("/reset") == shown("ru", "reset.done")
        telegram.inject(build.sticker(build.private_chat(chat.user), chat.user))
        sticker = await telegram.wait_sent(2, chat.user["id"])
    assert sticker[-1].text == shown("ru", "nontext.sticker")
    key = names.recent_language(chat.user["id"], chat.user["id"])
    assert await redis.get(key) == b"ru"
    assert 0 < await redis.ttl(key) <= RECENT_LANGUAGE_TTL_S


async def test_the_language_follows_the_user_when_they_switch(
    run_bot, telegram: TelegramStandIn, redis, names, rest_url
) -> None:
    user = build.user(random.randint(10**8, 10**9), "Olga", language_code="ru")
    chat = Chat(telegram, user)
    async with run_bot():
        await write(chat, redis, names, "remind me tomorrow at nine to call mum")
        assert await chat.text("/reset") == shown("en", "reset.done")
        await write(chat, redis, names, "нет, лучше по-русски")
        assert await chat.text("/reset") == shown("ru", "reset.done")


async def test_command_arguments_do_not_change_the_language(
    run_bot, telegram: TelegramStandIn, redis, names, rest_url
) -> None:
    """`/timezone Europe/Berlin` is a zone name, not English."""
    user = build.user(random.randint(10**8, 10**9), "Pyotr", language_code="ru")
    chat = Chat(telegram, user)
    async with run_bot():
        await chat.text("/timezone Europe/Berlin")
        assert await chat.text("/reset") == shown("ru", "reset.done")


async def test_without_any_text_the_apps_language_is_the_default(
    run_bot, telegram: TelegramStandIn, rest_url
) -> None:
    user = build.user(random.randint(10**8, 10**9), "Anna", language_code="ru")
    chat = Chat(telegram, user)
    async with run_bot():
        assert await chat.text("/reset") == shown("ru", "reset.done")


async def test_a_user_whose_app_language_tag_is_too_long_to_keep_is_still_served(
    run_bot, telegram: TelegramStandIn, redis, names, rest_url, rest
) -> None:
    """An IETF tag longer than rest_service keeps (16 characters) is not a reason to answer
    every message with an apology: the user is served, without that tag."""
    tagged = build.user(random.randint(10**8, 10**9), "Ivan", language_code="en-x-" + "a" * 20)
    async with run_bot():
        await write(Chat(telegram, tagged), redis, names, "What's on today?")
        await write(Chat(telegram, tagged), redis, names, "And tomorrow?")  # a known user
    assert [m.text for m in await incoming(redis, names)] == ["What's on today?", "And tomorrow?"]
    assert telegram.sent_to(tagged["id"]) == []
    assert (await rest.get_user_by_telegram(tagged["id"])).language is None
