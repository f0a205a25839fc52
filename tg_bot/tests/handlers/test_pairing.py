"""PAIRING: a stranger gets a code and the owners a request with Approve / Refuse; the approved
are answered from then on, the refused told once. ALLOWED_GROUPS: a group not allowed is told
once that the bot is not enabled there. Real bot, real rest_service, the Telegram stand-in."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from common.features.buttons import pairing_buttons
from common.features.pairing import CODE_PATTERN
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import PairingIn, PairingStatus
from sandbox import telegram_updates as build
from tests.waiting import until
from tg_bot.src.domain.pairings import PairingDirectory
from tg_bot.tests.conftest import incoming

OWNER = 5


@pytest.fixture
async def admin(own_rest: RestClient, bot_env, service_env) -> AsyncIterator[RestClient]:
    async with RestClient(bot_env["REST_SERVICE_URL"], service_env["ADMIN_API_TOKEN"]) as client:
        yield client


PAIRED = {"ALLOWED_TELEGRAM_IDS": str(OWNER), "PAIRING": "true", "USER_CACHE_SECONDS": "300"}


def someone(language: str = "en", name: str = "Anna") -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), name, username=f"u{uuid.uuid4().hex[:8]}",
                      language_code=language)  # fmt: skip


def code_in(text: str) -> str:
    found = re.search(CODE_PATTERN.strip("^$"), text)
    assert found, text
    return found.group(0)


async def queued_from(redis, names, telegram_id: int, count: int = 1) -> list[Any]:
    async def enough() -> list[Any] | None:
        found = [m for m in await incoming(redis, names) if m.telegram_user_id == telegram_id]
        return found if len(found) >= count else None

    return await until(enough)


async def test_a_stranger_gets_a_code_and_is_answered_once_the_admin_approves_it(
    run_bot, telegram, redis, names, admin: RestClient
) -> None:
    stranger = someone("ru")
    async with run_bot(**PAIRED):
        telegram.inject(build.private_text(stranger, "привет"))
        [asked] = await telegram.wait_sent(1, stranger["id"])
        [notice] = await telegram.wait_sent(1, OWNER)
        telegram.inject(build.private_text(stranger, "ну что?"))
        [_, asked_again] = await telegram.wait_sent(2, stranger["id"])
        code = code_in(asked.text)
        pending = await admin.list_pairings(PairingStatus.pending)
        await admin.decide_pairing(code, approve=True)
        telegram.inject(build.private_text(stranger, "теперь можно?"))
        [message] = await queued_from(redis, names, stranger["id"])
        telegram.inject(build.private_text(build.user(OWNER, "Owner"), "hello"))
        await queued_from(redis, names, OWNER)
    assert "одобрить код" in asked.text and code_in(asked_again.text) == code
    assert code in notice.text and str(stranger["id"]) in notice.text
    labels = [b["text"] for row in notice.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["✅ Approve", "🚫 Refuse"]
    assert [p.telegram_id for p in pending if p.code == code] == [stranger["id"]]
    assert message.text == "теперь можно?"
    assert len(telegram.sent_to(OWNER)) == 1  # told of the request once


async def test_the_owner_refuses_in_chat_and_the_stranger_is_told_once(
    run_bot, telegram, redis, names, own_rest: RestClient
) -> None:
    stranger, owner = someone(), build.user(OWNER, "Owner")
    async with run_bot(**PAIRED):
        telegram.inject(build.private_text(stranger, "hi"))
        [notice] = await telegram.wait_sent(1, OWNER)
        telegram.press(OWNER, notice.message_id, "Refuse", sender=owner)

        async def refused() -> bool:
            return "Refused" in telegram.sent_to(OWNER)[0].text

        await until(refused)
        telegram.inject(build.private_text(stranger, "please?"))
        telegram.inject(build.private_text(stranger, "please!"))
        await telegram.wait_sent(2, stranger["id"])
        done = telegram.inject(build.private_text(someone(), "after"))  # a later update
        await telegram.wait_sent(1)

        async def handled() -> bool:
            offset = await redis.get(names.telegram_bot_offset(telegram.bot_id))
            return offset == str(done + 1).encode()

        await until(handled)
    answers = [m.text for m in telegram.sent_to(stranger["id"])]
    assert len(answers) == 2 and "not approved" in answers[1]
    assert await incoming(redis, names) == []
    pairing = await status_of(own_rest, stranger)
    assert pairing.status == PairingStatus.refused and pairing.decided_by == f"telegram:{OWNER}"


async def test_someone_else_pressing_an_owners_button_changes_nothing(
    run_bot, telegram, own_rest: RestClient, admin: RestClient
) -> None:
    stranger, friend = someone(), someone(name="Boris")
    async with run_bot(**PAIRED):
        telegram.inject(build.private_text(friend, "hi"))
        [asked] = await telegram.wait_sent(1, friend["id"])
        await admin.decide_pairing(code_in(asked.text), approve=True)
        telegram.inject(build.private_text(stranger, "hi"))
        [_, notice] = await telegram.wait_sent(2, OWNER)
        # an approved person (not an owner) presses the owner's button
        query = telegram.press(OWNER, notice.message_id, "Approve", sender=friend)
        await until(lambda: telegram.buttons.answer_to(query))
    pairing = await status_of(own_rest, stranger)
    assert pairing.status == PairingStatus.pending
    assert telegram.buttons.answer_to(query)["text"] == "Sorry, this bot is private."


async def test_an_owners_button_for_a_code_no_one_has_is_told_it_no_longer_works(
    run_bot, telegram, redis, names, own_rest: RestClient
) -> None:
    request = OutgoingMessage(message_id=uuid.uuid4(), chat_id=OWNER, text="a request",
                              buttons=pairing_buttons("ZZZZZZ", None))  # fmt: skip
    async with run_bot(**PAIRED):
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, request)
        [sent] = await telegram.wait_sent(1, OWNER)
        query = telegram.press(OWNER, sent.message_id, "Approve", sender=build.user(OWNER, "O"))
        await until(lambda: telegram.buttons.answer_to(query))
    assert telegram.buttons.answer_to(query)["text"] == "This button no longer works."


async def test_a_strangers_button_press_asks_for_a_code_as_a_message_would(
    run_bot, telegram, redis, names, own_rest: RestClient
) -> None:
    """An old message with buttons in a stranger's chat (from before the owner set PAIRING)."""
    stranger = someone()
    old = OutgoingMessage(message_id=uuid.uuid4(), chat_id=stranger["id"], text="old",
                          buttons=pairing_buttons("ZZZZZZ", None))  # fmt: skip
    async with run_bot(**PAIRED):
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, old)
        [sent] = await telegram.wait_sent(1, stranger["id"])
        query = telegram.press(stranger["id"], sent.message_id, "Approve", sender=stranger)
        [_, asked] = await telegram.wait_sent(2, stranger["id"])
        [notice] = await telegram.wait_sent(1, OWNER)
        await until(lambda: telegram.buttons.answer_to(query))
    # the notice also names the stranger (their id's digits may look like a code): the
    # stranger's code is in it
    assert code_in(asked.text) in notice.text
    assert telegram.buttons.answer_to(query)["text"] == "Sorry, this bot is private."
    assert (await status_of(own_rest, stranger)).status == PairingStatus.pending


async def test_without_pairing_a_stranger_is_refused_as_before(
    run_bot, telegram, redis, names, rest_url
) -> None:
    stranger = someone()
    async with run_bot(ALLOWED_TELEGRAM_IDS=str(OWNER)):
        telegram.inject(build.private_text(stranger, "hi"))
        telegram.inject(build.private_text(stranger, "hi again"))
        answers = await telegram.wait_sent(2, stranger["id"])
    assert all(str(stranger["id"]) in m.text for m in answers)
    assert telegram.sent_to(OWNER) == []


async def test_a_group_not_allowed_is_told_once_and_then_ignored(
    run_bot, telegram, redis, names, rest_url
) -> None:
    group, other = build.group_chat(-(10**12) - random.randint(1, 10**6)), someone()
    bot = telegram.bot["username"]
    async with run_bot(ALLOWED_GROUPS="-100123"):
        telegram.inject(build.mention(group, other, bot, after=" hi"))
        telegram.inject(build.mention(group, other, bot, after=" hello?"))
        telegram.inject(build.private_text(other, "in private"))
        await queued_from(redis, names, other["id"])
    [told] = telegram.sent_to(group["id"])
    assert told.text == "The bot is not enabled in this group."
    assert [m.text for m in await incoming(redis, names)] == ["in private"]


def test_an_unreadable_change_notice_drops_every_cached_pairing() -> None:
    directory = PairingDirectory(RestClient("http://127.0.0.1:9", "unused"))
    directory._cache[1] = directory._cache[2] = (0.0, None)  # type: ignore[assignment]
    directory.heard("1")
    assert set(directory._cache) == {2}
    directory.heard("not an id")
    assert directory._cache == {}


async def status_of(rest: RestClient, person: dict[str, Any]) -> Any:
    return (await rest.request_pairing(PairingIn(telegram_id=person["id"])))[0]
