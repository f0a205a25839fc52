"""/start: a greeting, different for someone new and for someone coming back; a bots row's
bot greets with its own."""

from __future__ import annotations

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command


async def start(turn: Addressed, _args: str, services: Services) -> str:
    """A bots row's greeting when it has one (its admin's words, as written)."""
    if services.bot is not None and services.bot.greeting:
        return services.bot.greeting
    return turn.t("start.new" if turn.created else "start.returning", name=turn.display_name)


COMMAND = Command("start", start)
