"""The Yes / No under a tool call the assistant held (it had read outside content), handler
by handler on real Redis and rest_service: only the user it was asked for, in the chat it was
asked in, may answer; Yes hands the call to the assistant in the same step as the edit (the
assistant takes it, once); No drops it; the other questions' buttons stay. The rows kept
from a message's keyboard are ours only, whatever Telegram sends back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.buttons import ButtonAction, ButtonData, confirm_buttons, decode
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure.queue_messages import Button
from common.infrastructure.rest_client import RestClient
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.clients.types import TgCallbackQuery
from tg_bot.src.handlers.base import BotIdentity, Services
from tg_bot.src.handlers.buttons import _turn as button_turn
from tg_bot.src.handlers.commands import Press
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers.test_buttons import Tapper, ann_and_bob, answered, services, the_edit

__all__ = ["services"]  # the fixture, shared with the other button tests


def keyboard(rows: list[list[Button]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [[{"text": b.text, "callback_data": b.data} for b in r] for r in rows]
    }


async def _held(services: Services, user_id: str, chat_id: int) -> str:
    held = HeldCall(user_id, chat_id, "a1", "remember", {"action": "add", "fact": "x"}, "m", "0")
    return await Confirmations(services.redis, services.names).ask(held)


async def test_yes_hands_the_call_over_and_no_drops_it(
    services: Services, rest: RestClient, telegram: Any
) -> None:
    ann, bob = ann_and_bob(services)
    await ann.command("/start")
    owner = await rest.get_user_by_telegram(ann.sender["id"])
    first = await _held(services, str(owner.id), ann.chat["id"])
    second = await _held(services, str(owner.id), ann.chat["id"])
    rows = confirm_buttons(first, "en", deleting=False) + confirm_buttons(
        second, "en", deleting=False
    )
    [[yes, _no], [_yes2, no2]] = rows

    def query(tapper: Tapper, button: Button) -> TgCallbackQuery:
        raw = tapper.query(button.data, 40, "Remember x?").model_dump(by_alias=True)
        raw["message"]["reply_markup"] = keyboard(rows)
        return TgCallbackQuery.model_validate(raw)

    bobs = query(bob, yes)
    assert (await bob.tap(bobs)).incoming is None
    assert answered(telegram, bobs) == ["This button is for someone else."]

    tapped = await ann.tap(query(ann, yes))
    assert tapped.incoming is not None and tapped.incoming.confirmed == first
    assert tapped.incoming.text == "" and tapped.incoming.user_id == owner.id
    edit = the_edit(tapped, 40)
    assert edit.text.endswith(CATALOGUE.text("en", "confirm.running"))
    assert edit.buttons == rows[1:]  # the other question stays open
    # The assistant takes it: it is still there for the assistant to run.
    assert await Confirmations(services.redis, services.names).peek(first) is not None

    dropped = await ann.tap(query(ann, no2))
    assert dropped.incoming is None
    assert the_edit(dropped, 40).text.endswith(CATALOGUE.text("en", "confirm.dropped"))
    assert await Confirmations(services.redis, services.names).peek(second) is None


async def test_a_yes_in_another_chat_is_refused(services: Services, rest: RestClient) -> None:
    ann, _bob = ann_and_bob(services)
    await ann.command("/start")
    owner = await rest.get_user_by_telegram(ann.sender["id"])
    token = await _held(services, str(owner.id), -100123)  # asked in a group
    [[yes, _no]] = confirm_buttons(token, "en", deleting=False)

    outcome = await ann.press(yes, 41)

    assert outcome.incoming is None and outcome.replies == []
    assert await Confirmations(services.redis, services.names).peek(token) is not None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner),
    max_leaves=20,
)
OUR_DATA = st.builds(
    lambda action, target: ButtonData(action, target).encode(),
    st.sampled_from(list(ButtonAction)),
    st.from_regex(r"[a-f0-9]{1,32}", fullmatch=True),
)
BUTTON = st.fixed_dictionaries(
    {"text": st.text(max_size=70), "callback_data": OUR_DATA | st.text(max_size=70)}
)


@settings(max_examples=80, deadline=None)
@given(markup=JSONISH | st.fixed_dictionaries({"inline_keyboard": st.lists(st.lists(BUTTON))}))
def test_the_rows_kept_are_ours_and_about_something_else(markup: Any) -> None:
    sender = build.user(5)
    raw: dict[str, Any] = {
        "id": "q",
        "from": sender,
        "message": {"message_id": 1, "date": 0, "chat": build.private_chat(sender), "text": "x"},
        "data": "b1:ey:abc:",
        "chat_instance": "1",
    }
    query = TgCallbackQuery.model_validate(
        raw | {"message": raw["message"] | {"reply_markup": markup}}
    )
    assert query.message is not None
    turn = button_turn(1, query, query.message, BotIdentity(1, "bot"), "en")
    press = Press(turn, "q", ButtonData(ButtonAction.CONFIRM_YES, "abc"))
    for row in press.other_rows():
        for kept in row:
            data = decode(kept.data)
            assert data is not None and data.target != "abc"


def test_odd_entries_of_a_keyboard_are_dropped_and_our_other_buttons_kept() -> None:
    """Telegram gives the keyboard back as it was sent; anything else in it (not a button,
    a label that is not text) is left out, never a reason to fail the tap."""
    sender = build.user(5)
    [[other_yes, _no]] = confirm_buttons("f" * 32, "en", deleting=False)
    markup = {
        "inline_keyboard": [
            ["not a button", {"text": 5, "callback_data": other_yes.data}],
            [{"text": other_yes.text, "callback_data": other_yes.data}],
        ]
    }
    message = {"message_id": 1, "date": 0, "chat": build.private_chat(sender), "text": "x"}
    query = TgCallbackQuery.model_validate(
        {
            "id": "q",
            "from": sender,
            "message": message | {"reply_markup": markup},
            "data": "b1:ey:abc:",
            "chat_instance": "1",
        }
    )
    assert query.message is not None
    turn = button_turn(1, query, query.message, BotIdentity(1, "bot"), "en")
    press = Press(turn, "q", ButtonData(ButtonAction.CONFIRM_YES, "abc"))
    assert press.other_rows() == [[other_yes]]


async def test_no_on_an_expired_question_says_it_expired(
    services: Services, telegram: TelegramStandIn
) -> None:
    ann, _bob = ann_and_bob(services)
    await ann.command("/start")
    [[_yes, no]] = confirm_buttons("0" * 32, "en", deleting=False)

    query = ann.query(no.data, 31, "May I use what the page said?")
    outcome = await ann.tap(query)

    assert the_edit(outcome, 31).text.endswith(CATALOGUE.text("en", "confirm.expired"))
    assert answered(telegram, query) == [CATALOGUE.text("en", "button.used")]
