"""/help: what the bot does and every registered command, in the user's language."""

from __future__ import annotations

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown


async def show_help(turn: Addressed, _args: str, services: Services) -> str:
    lines = [
        turn.t("help.command", command=item["command"], description=item["description"])
        for item in services.commands.menu(turn.catalogue)
    ]
    return turn.t("help.text", commands=Markdown("\n".join(lines)))


COMMAND = Command("help", show_help)
