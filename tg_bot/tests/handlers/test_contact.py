"""A phone number shared in a private chat (a contact card, or the "Share my phone number"
button) reaches the assistant as a line it can act on, the sender's own number told from
someone else's card; a card with no number keeps the polite "can't read this" answer."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.tests.strategies import any_text
from sandbox import telegram_updates as build
from tests.tiers import examples
from tests.waiting import until
from tg_bot.src.clients.types import TgContact
from tg_bot.src.handlers.contact import NAME_MAX, PHONE_MAX, shared_contact_text
from tg_bot.tests.conftest import incoming


def someone() -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), "Anna", username=f"u{uuid.uuid4().hex[:8]}")


def card(sender: dict[str, Any], **contact: Any) -> dict[str, Any]:
    return build.message(build.private_chat(sender), sender, contact=contact)


async def test_a_shared_number_is_queued_for_the_assistant_as_words(
    run_bot, telegram, redis, names, rest_url
) -> None:
    anna, boris = someone(), someone()
    async with run_bot():
        telegram.inject(card(anna, phone_number="+7 (912) 345-67-89", first_name="Anna",
                             last_name="Petrova", user_id=anna["id"]))  # fmt: skip
        telegram.inject(card(boris, phone_number="79991112233", first_name="Mum"))
        queued = await until(lambda: _two(incoming(redis, names)), 20, "both cards queued")
    by_chat = {message.chat_id: message.text for message in queued}
    assert by_chat[anna["id"]] == (
        "[Shared a contact: Anna Petrova, phone +7 (912) 345-67-89 (their own number)]"
    )
    assert (
        by_chat[boris["id"]] == "[Shared a contact: Mum, phone 79991112233 (someone else's card)]"
    )
    assert telegram.sent_to(anna["id"]) == [] and telegram.sent_to(boris["id"]) == []


async def test_a_card_without_a_number_keeps_the_polite_answer(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    async with run_bot():
        telegram.inject(card(mia, phone_number="call me", first_name="Mia"))
        [answer] = await telegram.wait_sent(1, mia["id"])
    assert answer.text and await incoming(redis, names) == []


async def _two(found: Any) -> list[Any] | None:
    queued = await found
    return queued if len(queued) == 2 else None


@settings(max_examples=examples(60))
@given(phone=any_text(80), first=any_text(100), last=st.one_of(st.none(), any_text(100)))
def test_any_card_becomes_a_bounded_line_with_only_phone_characters_or_nothing(
    phone: str, first: str, last: str | None
) -> None:
    line = shared_contact_text(
        TgContact(phone_number=phone, first_name=first, last_name=last, user_id=1), 1
    )
    if line is None:
        assert not any(ch.isdigit() and ch.isascii() for ch in phone)
        return
    shown = re.fullmatch(
        r"\[Shared a contact: (?:(.*), )?phone ([0-9+()\- ]+) \(their own number\)\]", line, re.S
    )
    assert shown is not None, line
    name, number = shown.groups()
    assert len(number) <= PHONE_MAX and any(ch.isdigit() for ch in number)
    assert name is None or len(name) <= NAME_MAX
