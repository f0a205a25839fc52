"""/forget: after a confirmation (the Yes button, or `/forget confirm` within a few minutes),
delete everything the system holds about the user through rest_service; No (or letting the
question lapse) keeps it all."""

from __future__ import annotations

from common.features.buttons import ButtonAction, ButtonData, button
from common.features.texts import YES
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply


async def forget(turn: Addressed, args: str, services: Services) -> str | Reply:
    pending = services.names.telegram_forget_pending(turn.sender.id)
    confirmed = args.strip().casefold() in YES
    if confirmed and turn.user is not None and await services.redis.delete(pending):
        await services.users.forget(turn.user)
        return turn.t("forget.done")
    window = services.settings.forget_confirm_seconds
    await services.redis.set(pending, "1", ex=window)
    owner = str(turn.sender.id)
    buttons = [
        button(turn.t("forget.yes"), ButtonData(ButtonAction.FORGET_YES, owner)),
        button(turn.t("forget.no"), ButtonData(ButtonAction.FORGET_NO, owner)),
    ]
    return Reply(turn.t("forget.confirm", minutes=max(1, round(window / 60))), [buttons])


async def yes_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.target != str(turn.sender.id):
        return Pressed(turn.t("button.not_yours"))
    pending = services.names.telegram_forget_pending(turn.sender.id)
    if turn.user is None or not await services.redis.delete(pending):
        return Pressed(turn.t("forget.stale_notice"), Reply(turn.t("forget.stale")))
    await services.users.forget(turn.user)
    return Pressed(turn.t("forget.done_notice"), Reply(turn.t("forget.done")))


async def no_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.target != str(turn.sender.id):
        return Pressed(turn.t("button.not_yours"))
    await services.redis.delete(services.names.telegram_forget_pending(turn.sender.id))
    return Pressed(turn.t("forget.kept_notice"), Reply(turn.t("forget.kept")))


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.FORGET_YES: yes_pressed,
    ButtonAction.FORGET_NO: no_pressed,
}

COMMAND = Command("forget", forget)
