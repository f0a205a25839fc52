"""/reset: a fresh thread for this conversation (the group's, in a group)."""

from __future__ import annotations

from tg_bot.src.handlers.commands import Command
from tg_bot.src.handlers.context import Services, Turn


async def reset(turn: Turn, _args: str, services: Services) -> str:
    await services.rest.reset_threads(turn.conversation_key)
    return turn.t("reset.done")


COMMAND = Command("reset", reset)
