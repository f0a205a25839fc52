"""/start: a greeting, different for someone new and for someone coming back."""

from __future__ import annotations

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command


async def start(turn: Addressed, _args: str, _services: Services) -> str:
    return turn.t("start.new" if turn.created else "start.returning", name=turn.display_name)


COMMAND = Command("start", start)
