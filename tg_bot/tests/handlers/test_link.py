"""/link and /unlink through the real bot, the Telegram stand-in and a real rest_service: a
code to send from another account, this account joining a WhatsApp person (their facts and
reminders become this account's), unlinking, refusals, groups, and "link my accounts"."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.features.linking import LINK_CODE_ALPHABET
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.i18n import Markdown
from tg_bot.tests.handlers.test_commands import Chat, shown

#: The bot of each test talks to the shared real rest_service.
pytestmark = pytest.mark.usefixtures("rest_url")

_CODE = re.compile(rf"[{LINK_CODE_ALPHABET}]{{4}}-[{LINK_CODE_ALPHABET}]{{4}}")


def person(language: str = "en") -> dict:
    return build.user(random.randint(10**8, 10**9), "Anna", language_code=language)


async def whatsapp_person(rest: RestClient) -> User:
    phone = f"49{uuid.uuid4().int % 10**10:010d}"
    user, made = await rest.get_or_create_user_by_identity("whatsapp", phone, first_name="Anna")
    assert made
    return user


async def test_link_gives_a_code_that_another_account_sends(
    run_bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    anna = person()
    chat = Chat(telegram, anna)
    async with run_bot():
        answer = await chat.text("/link")
        [code] = set(_CODE.findall(answer))
        assert answer == shown("en", "link.code", code=Markdown(code), minutes=10)
        assert "WhatsApp, Slack, e-mail or the web chat" in answer
        phone = f"49{uuid.uuid4().int % 10**10:010d}"
        linked = await rest.link_identity(code, "whatsapp", phone)
    tg_user = await rest.get_user_by_telegram(anna["id"])
    assert linked.user.id == tg_user.id
    assert [i.channel.value for i in linked.identities] == ["telegram", "whatsapp"]


async def test_link_code_joins_a_whatsapp_person_with_their_facts_and_reminders(
    run_bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    anna = person("ru")
    chat = Chat(telegram, anna)
    issuer = await whatsapp_person(rest)
    await rest.add_fact(issuer.id, "I am vegan")
    soon = datetime.now(UTC) + timedelta(hours=2)
    async with run_bot():
        await chat.say("/start")
        tg_user = await rest.get_user_by_telegram(anna["id"])
        await rest.create_cron_job(
            name="dentist", chat_id=anna["id"], user_id=tg_user.id, text="dentist", run_at=soon
        )
        code = (await rest.issue_link_code(issuer.id)).code
        typed = code.lower().replace("-", " ")
        answer = await chat.text(f"/link {typed}")
        assert answer == shown("ru", "link.done", channels="Telegram, WhatsApp")
        assert await chat.text(f"/link {code}") == shown("ru", "link.unknown_code")
    now = await rest.get_user_by_telegram(anna["id"])
    assert now.id == issuer.id
    assert [f.text for f in await rest.list_facts(issuer.id)] == ["I am vegan"]
    jobs = await rest.list_cron_jobs(user_id=str(issuer.id))
    assert [j.text for j in jobs] == ["dentist"]


async def test_unlink_makes_this_telegram_account_stand_alone(
    run_bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    anna = person()
    chat = Chat(telegram, anna)
    issuer = await whatsapp_person(rest)
    async with run_bot():
        code = (await rest.issue_link_code(issuer.id)).code
        await chat.text(f"/link {code}")
        answer = await chat.text("/unlink")
        assert answer == shown("en", "unlink.done", channels="WhatsApp")
        assert await chat.text("/unlink") == shown("en", "unlink.alone")
    alone = await rest.get_user_by_telegram(anna["id"])
    assert alone.id != issuer.id
    assert [i.channel.value for i in await rest.list_identities(issuer.id)] == ["whatsapp"]


async def test_what_is_not_a_code_is_said_so(run_bot, telegram: TelegramStandIn) -> None:
    chat = Chat(telegram, person("de"))
    async with run_bot():
        assert await chat.text("/link banana") == shown("de", "link.bad_code")
        assert await chat.text("/link ABCD-EFGH") == shown("de", "link.unknown_code")


async def test_link_my_accounts_asks_for_a_code(run_bot, telegram: TelegramStandIn) -> None:
    chat = Chat(telegram, person())
    async with run_bot():
        answer = await chat.text("Link my accounts")
    assert len(_CODE.findall(answer)) == 2  # the code, and `/link CODE` to send


async def test_link_in_a_group_says_to_use_a_private_chat(
    run_bot, telegram: TelegramStandIn
) -> None:
    group = build.group_chat(-random.randint(10**12, 10**13))
    anna = person("uk")
    async with run_bot():
        for command in ("link", "unlink"):
            telegram.inject(build.command(group, anna, command, bot_username=telegram.bot_username))
        answers = await telegram.wait_sent(2, group["id"])
    assert [a.text for a in answers] == [shown("uk", "link.private_only")] * 2
