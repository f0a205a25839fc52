"""Every command of the bot, in English and in Russian, against a real rest_service."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from sandbox import telegram_updates as build
from sandbox.telegram_api import SentMessage, TelegramStandIn
from sandbox.telegram_html import parse_html
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import CATALOGUE, Markdown
from tg_bot.src.main import default_commands
from tg_bot.tests.conftest import incoming

RENDER = MarkdownRenderer()
NO_LIST = Markdown("")


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def shown(language: str, key: str, **values: object) -> str:
    """What the user reads for a catalogue entry."""
    return parse_html(RENDER.render(CATALOGUE.text(language, key, **values))).text


class Chat:
    """A private chat with the bot: say something, get the bot's answer."""

    def __init__(self, telegram: TelegramStandIn, user: dict) -> None:
        self.telegram = telegram
        self.user = user

    async def say(self, text: str) -> SentMessage:
        before = len(self.telegram.sent_to(self.user["id"]))
        self.telegram.inject(build.private_text(self.user, text))
        return (await self.telegram.wait_sent(before + 1, self.user["id"]))[-1]

    async def text(self, said: str) -> str:
        return (await self.say(said)).text


@pytest.fixture
async def rest(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def models(rest_url: str, secrets: dict[str, str]) -> list[str]:
    """Two models of a provider of this test's own; the first has a display name."""
    suffix = uuid.uuid4().hex[:6]
    async with RestClient(rest_url, secrets["ADMIN_API_TOKEN"]) as admin:
        provider = await admin.post_json(
            "/api/llm-providers/", {"name": f"local-{suffix}", "base_url": "http://127.0.0.1:9/v1"}
        )
        names = [f"alpha-{suffix}", f"beta-{suffix}"]
        for name, display in zip(names, [f"Alpha {suffix}", None], strict=True):
            await admin.post_json(
                "/api/llm-models/",
                {
                    "provider_id": provider["id"],
                    "provider_model_name": name,
                    "display_name": display,
                },
            )
    return names


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_command_answers_in_the_users_language(
    run_bot, telegram, redis, names, rest, models, language: str
) -> None:
    name = "Анна" if language == "ru" else "Anna"
    user = build.user(random.randint(10**8, 10**9), name, language_code=language)
    chat = Chat(telegram, user)
    alpha, beta = models
    async with run_bot():
        assert await chat.text("/start") == shown(language, "start.new", name=name)
        assert await chat.text("/start") == shown(language, "start.returning", name=name)

        help_text = await chat.text("/help")
        for command in ("start", "help", "model", "reset", "timezone", "forget"):
            description = CATALOGUE.text(language, f"command.{command}")
            assert f"/{command} — {description}" in help_text

        listing = await chat.text("/model")
        assert first_line(listing) == first_line(shown(language, "model.default", models=NO_LIST))
        assert f"{alpha} — Alpha {alpha[-6:]}" in listing and f"{beta} — {beta}" in listing
        assert await chat.text(f"/model {beta.upper()}") == shown(language, "model.set", model=beta)
        current = await chat.text("/model")
        assert first_line(current) == first_line(
            shown(language, "model.current", model=beta, models=NO_LIST)
        )
        unknown = await chat.text("/model gpt-nothing")
        assert first_line(unknown) == first_line(
            shown(language, "model.unknown", name="gpt-nothing", models=NO_LIST)
        )
        assert alpha in unknown

        assert await chat.text("/timezone") == shown(language, "timezone.unset", zone="UTC")
        set_zone = await chat.text("/timezone europe/berlin")
        assert re.fullmatch(
            re.escape(
                shown(language, "timezone.set", zone="Europe/Berlin", offset="OFFSET", time="HH:MM")
            )
            .replace("HH:MM", r"\d\d:\d\d")
            .replace("OFFSET", r"UTC\+0[12]:00"),
            set_zone,
        )
        assert await chat.text("/timezone Mars/Olympus") == shown(
            language, "timezone.invalid", zone="Mars/Olympus"
        )
        assert "Europe/Berlin" in await chat.text("/timezone")

        assert await chat.text("/reset") == shown(language, "reset.done")
        assert await chat.text("/frobnicate") == shown(
            language, "unknown_command", command="frobnicate"
        )

        stored = await rest.get_user_by_telegram(user["id"])
        assert (stored.preferred_model, stored.timezone) == (beta, "Europe/Berlin")
        assert stored.language == language

        assert await chat.text("/forget") == shown(language, "forget.confirm", minutes=5)
        await rest.get_user_by_telegram(user["id"])  # asking is not deleting
        assert await chat.text("/forget confirm") == shown(language, "forget.done")
    with pytest.raises(NotFoundError):
        await rest.get_user_by_telegram(user["id"])
    assert await incoming(redis, names) == []  # commands never reach the assistant


async def test_forget_confirm_without_asking_first_only_asks(
    run_bot, telegram, rest, redis, names
) -> None:
    user = build.user(random.randint(10**8, 10**9), "Anna")
    chat = Chat(telegram, user)
    async with run_bot():
        assert await chat.text("/forget confirm") == shown("en", "forget.confirm", minutes=5)
    assert (await rest.get_user_by_telegram(user["id"])).telegram_id == user["id"]


async def test_reset_in_a_group_is_the_groups_and_answers_there(run_bot, telegram, rest) -> None:
    group = build.group_chat(-random.randint(10**12, 10**13))
    anna = build.user(random.randint(10**8, 10**9), "Anna", language_code="ru")
    async with run_bot():
        telegram.inject(build.command(group, anna, "reset", bot_username=telegram.bot_username))
        [answer] = await telegram.wait_sent(1, group["id"])
    assert answer.text == shown("ru", "reset.done")
    assert answer.reply_to_message_id is not None


async def test_reminders_in_a_group_lists_only_those_set_in_that_group(
    run_bot, telegram, rest
) -> None:
    group = build.group_chat(-random.randint(10**12, 10**13))
    anna = build.user(random.randint(10**8, 10**9), "Anna")
    chat = Chat(telegram, anna)
    soon = datetime.now(UTC) + timedelta(hours=2)
    async with run_bot():
        await chat.say("/start")
        user_id = str((await rest.get_user_by_telegram(anna["id"])).id)
        for chat_id, text in ((anna["id"], "call the dentist"), (group["id"], "book the room")):
            await rest.create_cron_job(
                name=text, chat_id=chat_id, user_id=user_id, text=text, run_at=soon
            )

        telegram.inject(build.command(group, anna, "reminders", bot_username=telegram.bot_username))
        [in_group] = await telegram.wait_sent(1, group["id"])
        telegram.inject(
            build.command(group, anna, "reminders", "cancel 2", bot_username=telegram.bot_username)
        )
        [_, no_second] = await telegram.wait_sent(2, group["id"])
        in_private = await chat.text("/reminders")

    assert "book the room" in in_group.text and "dentist" not in in_group.text
    assert no_second.text == shown("en", "reminders.no_such", number=2)
    assert "book the room" in in_private and "call the dentist" in in_private


def test_a_command_name_registered_twice_is_refused_at_start() -> None:
    """Two handlers for one command: which one answers would depend on the order."""
    registry = default_commands()
    help_command = registry.get("help")
    assert help_command is not None
    with pytest.raises(ValueError, match="/help is registered twice"):
        registry.register(Command("help", help_command.handler))
    assert registry.get("help") is help_command


async def test_a_deep_links_start_payload_is_kept_for_the_lead_and_garbage_is_not(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = build.user(random.randint(10**8, 10**9), "Anna", language_code="en")
    boris = build.user(random.randint(10**8, 10**9), "Boris", language_code="en")
    async with run_bot():
        assert await Chat(telegram, anna).text("/start promo-winter_2") == shown(
            "en", "start.new", name="Anna"
        )
        await Chat(telegram, boris).text("/start not a payload!")
    for person, kept in ((anna, b"promo-winter_2"), (boris, None)):
        user = await rest.get_user_by_telegram(person["id"])
        assert await redis.get(names.start_payload(None, str(user.id))) == kept
