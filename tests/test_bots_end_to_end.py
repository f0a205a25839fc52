"""Two bots in one deployment (decision 0048), every service a real process: the secretary
bot (TELEGRAM_TOKEN) and a shop's consultant bot (a bots row speaking as another assistant,
started live on `bots:updated`). The same person talks to both; each answers as its own
assistant (the model is told that assistant's instructions), through its own Telegram bot,
the two conversations stay apart, and a reminder made with the shop's bot fires through it."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sandbox import telegram_updates as build
from tests.system import DEFAULT_MODEL, Person, System
from tests.waiting import until

CONSULTANT = "You are the tea shop's consultant. Recommend our teas."


@pytest.mark.timeout(120)
async def test_a_secretary_bot_and_a_consultant_bot_each_answer_as_their_own_assistant(
    whole_system: System,
) -> None:
    system = whole_system
    system.llm.reset()
    telegram_bot_id = random.randint(10**9, 2 * 10**9)
    shop = system.telegram.add_bot(f"{telegram_bot_id}:SHOP-{uuid.uuid4().hex}", "tea_shop_bot")
    async with system.admin() as admin:
        consultant = await admin.post(
            "/api/assistants/",
            json={"name": "tea-consultant", "model": DEFAULT_MODEL, "instructions": CONSULTANT},
        )
        assert consultant.status_code == 201, consultant.text
        consultant_id = consultant.json()["id"]
        tools = (await admin.get("/api/tools/", params={"limit": 500})).json()
        reminder = next(t for t in tools if t["name"] == "reminder")
        linked = await admin.post(f"/api/assistants/{consultant_id}/tools/{reminder['id']}")
        assert linked.status_code in (200, 201), linked.text
        bot = await admin.post(
            "/api/bots/",
            json={
                "name": "tea-shop",
                "assistant_id": consultant_id,
                "token": shop.token,
                "greeting": "Welcome to the tea shop!",
            },
        )
        assert bot.status_code == 201, bot.text
    await system.assistant_has_latest_config()
    anna = Person.new("Anna")
    chat = build.private_chat(anna.telegram)

    system.llm.reply("Try our Darjeeling.", contains="which tea for the evening?")
    system.telegram.inject(
        build.message(chat, anna.telegram, text="which tea for the evening?"), shop
    )
    from_shop = await until(lambda: shop.sent_to(anna.id) or None, 60, "the shop bot's answer")
    assert from_shop[-1].text == "Try our Darjeeling."

    secretary_answer = await system.say(anna, "what is on my calendar?")
    assert "Darjeeling" not in secretary_answer.text
    assert len(shop.sent_to(anna.id)) == 1  # the secretary's answer came from the default bot

    to_shop = system.request_about("which tea for the evening?").messages
    to_secretary = system.request_about("what is on my calendar?").messages
    assert CONSULTANT in to_shop[0]["content"]
    assert CONSULTANT not in to_secretary[0]["content"]
    # two conversations: neither model saw the other bot's message
    assert "what is on my calendar?" not in str(to_shop)
    assert "which tea for the evening?" not in str(to_secretary)

    system.telegram.inject(build.message(chat, anna.telegram, text="/start"), shop)
    greeted = await until(lambda: len(shop.sent_to(anna.id)) == 2 or None, 30, "the greeting")
    assert greeted and shop.sent_to(anna.id)[-1].text == "Welcome to the tea shop!"

    # a reminder made in the shop's conversation fires through the shop's bot
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    create = {"action": "create", "text": "pick up the tea order", "when": due.isoformat()}
    system.llm.call("reminder", create, contains="remind me to pick up")
    system.telegram.inject(
        build.message(chat, anna.telegram, text="remind me to pick up my order"), shop
    )
    fired = await until(
        lambda: [m for m in shop.sent_to(anna.id) if "⏰ pick up the tea order" in m.text] or None,
        60,
        "the reminder from the shop bot",
    )
    assert fired
    assert not [m for m in system.sent_to(anna.id) if "pick up the tea order" in m.text]
