"""/forget: after a confirmation (`/forget confirm` within a few minutes), delete everything
the system holds about the user through rest_service."""

from __future__ import annotations

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command

CONFIRM_WORDS = {"confirm", "yes", "да", "подтверждаю"}


async def forget(turn: Addressed, args: str, services: Services) -> str:
    pending = services.names.telegram_forget_pending(turn.sender.id)
    confirmed = args.strip().casefold() in CONFIRM_WORDS
    if confirmed and turn.user is not None and await services.redis.delete(pending):
        await services.users.forget(turn.user)
        return turn.t("forget.done")
    window = services.settings.forget_confirm_seconds
    await services.redis.set(pending, "1", ex=window)
    return turn.t("forget.confirm", minutes=max(1, round(window / 60)))


COMMAND = Command("forget", forget)
