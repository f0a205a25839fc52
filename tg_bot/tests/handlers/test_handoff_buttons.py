"""The operator chat's side of a handoff, on real Redis and rest_service: the hand-back button
of a handoff that is closed or never was (whatever its target) says so and drops the button;
a reply to a message the bot relays for a closed handoff tells the operator, and a reply to any
other message of the bot's is left to the usual group rules."""

from __future__ import annotations

import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.buttons import ButtonAction, ButtonData
from sandbox import telegram_updates as build
from tests.tiers import examples
from tg_bot.src.clients.types import TgMessage
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.handoffs import operator_reply
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers.test_buttons import BOT, Tapper, answered, services, the_edit

__all__ = ["services"]  # the fixture, shared with the other button tests

TARGETS = st.one_of(st.uuids().map(str), st.from_regex(r"[A-Za-z0-9._-]{0,30}", fullmatch=True))
OPERATORS = -100_777


@settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=TARGETS)
async def test_hand_back_of_no_open_handoff_says_so(
    services: Services, telegram: Any, target: str
) -> None:
    olga = Tapper(services, random.randint(10**8, 10**9), build.group_chat(OPERATORS))
    data = ButtonData(ButtonAction.HAND_BACK, target).encode()
    tap = olga.query(data, random.randint(1, 10**6), "🙋 Anna asks for a person.")
    tapped = await olga.tap(tap)
    closed = CATALOGUE.text("en", "handoff.closed")
    edit = the_edit(tapped, tap.message.message_id if tap.message else 0)
    assert edit.text.endswith(closed) and edit.buttons == []
    assert answered(telegram, tap) == [closed]


def _group_reply(to_message_id: int, *, from_bot: bool = True) -> TgMessage:
    group = build.group_chat(OPERATORS)
    sender = build.user(BOT.id, "Bot", is_bot=True) if from_bot else build.user(5, "Someone")
    to = {"message_id": to_message_id, "date": 0, "chat": group, "from": sender, "text": "x"}
    raw = build.reply(group, build.user(77, "Olga"), "Hi Anna", to)["message"]
    return TgMessage.model_validate({**raw, "date": 0, "message_id": to_message_id + 1})


async def test_a_reply_for_a_closed_handoff_tells_the_operator(services: Services) -> None:
    relayed = random.randint(1, 10**6)
    key = services.names.handoff_relay(None, OPERATORS, relayed)
    await services.redis.set(key, str(uuid.uuid4()), ex=60)
    outcome = await operator_reply(1, _group_reply(relayed), services, BOT)
    assert outcome is not None and outcome.kind == "handoff_closed"
    (notice,) = outcome.replies
    assert notice.chat_id == OPERATORS and notice.text == CATALOGUE.text("en", "handoff.closed")
    assert notice.reply_to_telegram_message_id == relayed + 1


async def test_other_replies_are_not_an_operators(services: Services) -> None:
    unknown = random.randint(1, 10**6)
    assert await operator_reply(1, _group_reply(unknown), services, BOT) is None
    relayed = random.randint(1, 10**6)
    await services.redis.set(
        services.names.handoff_relay(None, OPERATORS, relayed), str(uuid.uuid4()), ex=60
    )
    assert await operator_reply(1, _group_reply(relayed, from_bot=False), services, BOT) is None
