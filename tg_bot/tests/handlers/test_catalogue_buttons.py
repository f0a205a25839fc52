"""Show under a catalogue item the assistant listed, on real Redis and rest_service: the tap
asks the assistant about the item in the button's words, in the same step as the edit that
says so; the other items' buttons stay; a second tap of the same item is told it was done."""

from __future__ import annotations

import uuid
from typing import Any

from common.features.buttons import catalogue_item_button
from common.infrastructure.queue_messages import (
    Button,
    incoming_message_id,
    pressed_message_id,
)
from common.infrastructure.rest_client import RestClient
from tg_bot.src.clients.types import TgCallbackQuery
from tg_bot.src.handlers.base import Services
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers.test_buttons import (
    BOT,
    Tapper,
    ann_and_bob,
    answered,
    services,
    the_edit,
)
from tg_bot.tests.handlers.test_held_call_buttons import keyboard

__all__ = ["services"]  # the fixture, shared with the other button tests


async def test_show_asks_the_assistant_in_the_buttons_words(
    services: Services, rest: RestClient, telegram: Any
) -> None:
    ann, bob = ann_and_bob(services)
    await ann.command("/start")
    owner = await rest.get_user_by_telegram(ann.sender["id"])
    haircut, beard = uuid.uuid4(), uuid.uuid4()
    rows = [
        [catalogue_item_button(haircut, "Haircut " + "x" * 60, "en")],
        [catalogue_item_button(beard, "Beard trim", "en")],
    ]
    assert rows[0][0].text == "Show Haircut " + "x" * 31 + "…"

    def query(tapper: Tapper, button: Button, markup: dict[str, Any]) -> TgCallbackQuery:
        raw = tapper.query(button.data, 50, "We have a haircut and a beard trim.").model_dump(
            by_alias=True
        )
        raw["message"]["reply_markup"] = markup
        return TgCallbackQuery.model_validate(raw)

    tap = query(ann, rows[1][0], keyboard(rows))
    tapped = await ann.tap(tap)

    assert tapped.incoming is not None and tapped.incoming.text == "Show Beard trim"
    assert tapped.incoming.user_id == owner.id
    tap_id = incoming_message_id(BOT.id, tapped.update_id)
    assert tapped.incoming.message_id == pressed_message_id(tap_id)
    edit = the_edit(tapped, 50)
    assert edit.text.endswith(CATALOGUE.text("en", "catalogue.asked", name="Show Beard trim"))
    assert edit.buttons == rows[:1]  # the other item's button stays
    assert answered(telegram, tap) == [CATALOGUE.text("en", "catalogue.notice")]

    again = await bob.tap(query(bob, rows[1][0], keyboard(rows)))
    assert again.incoming is None

    junk = {"inline_keyboard": [["junk", {"text": 5}], "not a row"]}
    without_keyboard = await ann.tap(query(ann, rows[0][0], junk))
    assert without_keyboard.incoming is not None
    assert without_keyboard.incoming.text == str(haircut)
