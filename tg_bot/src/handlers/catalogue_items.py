"""Show under a catalogue item the assistant listed: the tap asks the assistant about that
item in the user's words (the button's own label, "Show Haircut"), as if they had typed it,
and the message it was under says what was asked, the other items' buttons kept. Anyone in
the chat may tap: a catalogue is no one's secret."""

from __future__ import annotations

from common.features.buttons import ButtonAction, decode
from common.infrastructure.queue_messages import pressed_message_id
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler


async def show_pressed(press: Press, _services: Services) -> Pressed:
    turn = press.turn
    label = _label(press)
    incoming = turn.incoming().model_copy(
        update={"message_id": pressed_message_id(turn.incoming_id), "text": label}
    )
    asked = press.below(turn.t("catalogue.asked", name=label), keep_others=True)
    return Pressed(turn.t("catalogue.notice"), asked, incoming=incoming)


def _label(press: Press) -> str:
    """The tapped button's text, from the keyboard Telegram sent back with the tap; the
    item's id when the keyboard does not have it."""
    markup = press.turn.message.reply_markup
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for raw in row if isinstance(row, list) else []:
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                continue
            if decode(raw.get("callback_data")) == press.data:
                return str(raw["text"])
    return press.data.target


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.CATALOGUE_SHOW: show_pressed}
