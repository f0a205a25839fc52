"""A human operator end to end (decision 0052), every service a real process, Telegram and the
model the stand-ins. A shop's bot (the seed's consultant) has an operator group. The customer
asks for a person: the model calls `handoff` and says a colleague will reply; the group gets
the summary and the hand-back button. While the conversation is with the operators the model
is not asked: the customer's words appear in the group. An operator's Telegram reply there
reaches the customer through the shop's bot; the button hands the conversation back, the
customer is told, and the model answers again."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from sandbox import telegram_updates as build
from sandbox.telegram_api import SentMessage, TelegramStandIn
from tests.system import Person, System
from tests.waiting import until

Json = dict[str, Any]
OPERATORS = -100_4242_4242
PASSED = "I've passed this to a colleague; they'll reply here."


async def _shop_bot(system: System) -> TelegramStandIn:
    """A bots row speaking as the seed's consultant, with the operator group."""
    telegram_bot_id = random.randint(10**9, 2 * 10**9)
    shop = system.telegram.add_bot(f"{telegram_bot_id}:SHOP-{uuid.uuid4().hex}", "sofa_shop_bot")
    async with system.admin() as admin:
        assistants = (await admin.get("/api/assistants/", params={"limit": 500})).json()
        consultant = next(a for a in assistants if a["name"] == "consultant")
        made = await admin.post(
            "/api/bots/",
            json={
                "name": f"sofa-shop-{uuid.uuid4().hex[:6]}",
                "assistant_id": consultant["id"],
                "token": shop.token,
                "operator_chat_id": OPERATORS,
                "operator_wait_minutes": 30,
            },
        )
        assert made.status_code == 201, made.text
    return shop


async def _in_group(shop: TelegramStandIn, containing: str) -> SentMessage:
    found: SentMessage = await until(
        lambda: next((m for m in shop.sent_to(OPERATORS) if containing in m.text), None),
        30,
        f"{containing!r} in the operator group",
    )
    return found


async def _to_customer(shop: TelegramStandIn, person: Person, containing: str) -> SentMessage:
    found: SentMessage = await until(
        lambda: next((m for m in shop.sent_to(person.id) if containing in m.text), None),
        30,
        f"{containing!r} to the customer",
    )
    return found


def _tap(system: System, shop: TelegramStandIn, person: Person, message: SentMessage) -> None:
    ((button,),) = (message.reply_markup or {})["inline_keyboard"]
    query = {
        "id": uuid.uuid4().hex,
        "from": person.telegram,
        "message": message.as_message(shop.bot),
        "data": button["callback_data"],
        "chat_instance": str(message.chat_id),
    }
    system.telegram.inject({"callback_query": query}, shop)


@pytest.mark.timeout(180)
async def test_a_customer_is_handed_to_an_operator_and_back(whole_system: System) -> None:
    system = whole_system
    system.llm.reset()
    shop = await _shop_bot(system)
    await system.assistant_has_latest_config()
    anna, olga = Person.new("Anna"), Person.new("Olga")
    chat, group = build.private_chat(anna.telegram), build.group_chat(OPERATORS, "Operators")

    ask = "can I talk to a person about my broken sofa?"
    summary = {"reason": "customer_asked", "summary": "Anna's sofa arrived broken"}
    system.llm.call("handoff", summary, contains=ask)
    system.llm.reply(PASSED, contains=ask)
    system.telegram.inject(build.message(chat, anna.telegram, text=ask), shop)

    assert (await _to_customer(shop, anna, "passed this")).text == PASSED
    (handed,) = system.tool_results(ask)
    assert handed["handoff"] == "requested"
    announced = await _in_group(shop, "Anna's sofa arrived broken")
    assert "Anna asks for a person" in announced.text
    ((button,),) = (announced.reply_markup or {})["inline_keyboard"]
    assert button["text"] == "↩️ Hand back to the bot"

    asked = len(system.llm.requests)
    system.telegram.inject(build.message(chat, anna.telegram, text="hello, anyone?"), shop)
    forwarded = await _in_group(shop, "hello, anyone?")
    assert forwarded.text == "💬 Anna: hello, anyone?"
    assert len(system.llm.requests) == asked  # the model was not asked

    words = "Hi Anna, Olga here. Send a photo?"
    system.telegram.inject(
        build.reply(group, olga.telegram, words, forwarded.as_message(shop.bot)), shop
    )
    relayed = await _to_customer(shop, anna, "Olga here")
    assert relayed.text == "Hi Anna, Olga here. Send a photo?"

    _tap(system, shop, olga, announced)
    edited = await _in_group(shop, "Handed back to the bot by Olga")
    assert edited.message_id == announced.message_id and not edited.reply_markup
    await _to_customer(shop, anna, "talking with the assistant again")

    system.llm.reply("Glad Olga could help!", contains="thank you")
    system.telegram.inject(build.message(chat, anna.telegram, text="thank you"), shop)
    await _to_customer(shop, anna, "Glad Olga could help!")
    assert len(system.llm.requests) > asked
