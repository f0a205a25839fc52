"""Feedback end to end (decision 0051), every service a real process, Telegram and the model
the stand-ins: a shop's bot speaks as an assistant whose feedback buttons are on; its answer
carries 👍 / 👎; a 👎 is stored with the answer's model and bot and asks for a comment, which
the customer's next message becomes (the model never sees it); a 👍 then changes the
rating; a forged press is told the answer can no longer be rated."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from sandbox import telegram_updates as build
from sandbox.telegram_api import SentMessage, TelegramStandIn
from tests.system import DEFAULT_MODEL, Person, System
from tests.waiting import until

Json = dict[str, Any]


def press(
    system: System, bot: TelegramStandIn, person: Person, message: SentMessage, label: str
) -> str:
    """`person` taps the button labelled `label` under `message` of `bot`; the query id."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    [button] = [b for row in rows for b in row if b["text"] == label]
    return tap(system, bot, person, message, button["callback_data"])


def tap(
    system: System, bot: TelegramStandIn, person: Person, message: SentMessage, data: str
) -> str:
    query_id = uuid.uuid4().hex
    query = {
        "id": query_id,
        "from": person.telegram,
        "message": message.as_message(bot.bot),
        "data": data,
        "chat_instance": str(message.chat_id),
    }
    system.telegram.inject({"callback_query": query}, bot)
    return query_id


async def notice(bot: TelegramStandIn, query_id: str) -> str | None:
    found = await until(lambda: [a for a in bot.callback_answers if a["id"] == query_id], 30)
    text: str | None = found[0].get("text")
    return text


async def shop_message(bot: TelegramStandIn, person: Person, count: int) -> SentMessage:
    sent = await until(lambda: bot.sent_to(person.id)[count - 1 :] or None, 60, f"message {count}")
    return sent[0]


def feedback_rows(system: System, assistant_id: str) -> list[tuple[Any, ...]]:
    return system.query(
        "SELECT rating, comment, model, bot_id::text, message_key FROM feedback "
        "WHERE assistant_id = %s",
        assistant_id,
    )


@pytest.mark.timeout(150)
async def test_a_customer_rates_an_answer_and_says_why(whole_system: System) -> None:
    system = whole_system
    system.llm.reset()
    telegram_bot_id = random.randint(10**9, 2 * 10**9)
    shop = system.telegram.add_bot(f"{telegram_bot_id}:FEED-{uuid.uuid4().hex}", "rated_shop_bot")
    async with system.admin() as admin:
        made = await admin.post(
            "/api/assistants/",
            json={
                "name": f"rated-{uuid.uuid4().hex[:6]}",
                "model": DEFAULT_MODEL,
                "instructions": "You sell tea.",
                "feedback_buttons": True,
            },
        )
        assert made.status_code == 201, made.text
        assistant_id = made.json()["id"]
        bot = await admin.post(
            "/api/bots/",
            json={"name": f"rated-{uuid.uuid4().hex[:6]}", "assistant_id": assistant_id,
                  "token": shop.token},
        )  # fmt: skip
        assert bot.status_code == 201, bot.text
        bot_id = bot.json()["id"]
    await system.assistant_has_latest_config()
    anna = Person.new("Anna")
    chat = build.private_chat(anna.telegram)

    system.llm.reply("Try our Darjeeling.", contains="which tea?")
    system.telegram.inject(build.message(chat, anna.telegram, text="which tea?"), shop)
    answer = await shop_message(shop, anna, 1)
    assert answer.text == "Try our Darjeeling."

    thumbs_down = press(system, shop, anna, answer, "👎")
    assert await notice(shop, thumbs_down) == "Thanks, noted."
    asked = await shop_message(shop, anna, 2)
    assert "What was wrong?" in asked.text
    [(rating, comment, model, rated_bot, key)] = feedback_rows(system, assistant_id)
    assert (rating, comment, model, rated_bot) == (-1, None, DEFAULT_MODEL, bot_id)
    assert key.endswith(":answer")

    system.telegram.inject(build.message(chat, anna.telegram, text="too expensive"), shop)
    saved = await shop_message(shop, anna, 3)
    assert saved.text == "Thanks, your comment is saved."
    assert system.requests_about("too expensive") == []  # the model never saw it
    assert [r[:2] for r in feedback_rows(system, assistant_id)] == [(-1, "too expensive")]

    thumbs_up = press(system, shop, anna, answer, "👍")
    assert await notice(shop, thumbs_up) == "Thanks for the feedback!"
    assert [r[:2] for r in feedback_rows(system, assistant_id)] == [(1, None)]

    forged = tap(system, shop, anna, answer, f"b1:fd:{uuid.uuid4().hex}:")
    assert await notice(shop, forged) == "This answer can no longer be rated."
    assert [r[:2] for r in feedback_rows(system, assistant_id)] == [(1, None)]
