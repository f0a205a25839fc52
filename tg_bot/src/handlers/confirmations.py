"""Yes / No under the assistant's question about an action waiting for its owner
(`common/features/confirmations.py`): a calendar event's delete, or a tool call held because the
turn had read outside content (a web page, search results, a file).

Only the user the question is for may answer, in the chat it was asked in; the button's
claim (`buttons.py`) and the atomic take keep a double tap from acting twice. Yes to a
calendar delete deletes here; Yes to a held call sends the assistant a message naming it
(`IncomingMessage.confirmed`), and the assistant runs exactly that call and says how it went.
No drops the action either way; a No to a proposed fact also keeps it from being proposed
again soon.
"""

from __future__ import annotations

from common.features.buttons import ButtonAction
from common.features.confirmations import (
    Confirmations,
    HeldCall,
    Pending,
    PendingDelete,
    decline_fact,
)
from common.infrastructure.queue_messages import confirmed_message_id
from tg_bot.src.handlers import calendar
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler


async def _own(press: Press, services: Services) -> Pending | Pressed:
    """The action this button asks about, if it is the presser's and still pending; else
    what to tell them (nothing is taken)."""
    turn = press.turn
    pending = await Confirmations(services.redis, services.names).peek(press.data.target)
    if pending is None:
        return Pressed(turn.t("button.used"), press.below(turn.t("confirm.expired")))
    if turn.user is None or pending.user_id != str(turn.user.id):
        return Pressed(turn.t("button.not_yours"))
    if isinstance(pending, HeldCall) and pending.chat_id != turn.chat_id:
        return Pressed(turn.t("button.not_yours"))
    return pending


async def yes_pressed(press: Press, services: Services) -> Pressed:
    own = await _own(press, services)
    if isinstance(own, Pressed):
        return own
    if isinstance(own, PendingDelete):
        return await calendar.delete_confirmed(press, services)
    turn = press.turn
    incoming = turn.incoming().model_copy(
        update={
            "message_id": confirmed_message_id(turn.incoming_id),
            "confirmed": press.data.target,
            "text": "",
        }
    )
    return Pressed(
        turn.t("confirm.yes_notice"),
        press.below(turn.t("confirm.running"), keep_others=True),
        incoming=incoming,
    )


async def no_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    own = await _own(press, services)
    if isinstance(own, Pressed):
        return own
    pending = await Confirmations(services.redis, services.names).take(press.data.target)
    if pending is None:
        return Pressed(turn.t("button.used"))
    if isinstance(pending, PendingDelete):
        return calendar.delete_kept(press, pending)
    await decline_fact(services.redis, services.names, pending)
    dropped = press.below(turn.t("confirm.dropped"), keep_others=True)
    return Pressed(turn.t("confirm.no_notice"), dropped)


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.CONFIRM_YES: yes_pressed,
    ButtonAction.CONFIRM_NO: no_pressed,
}
