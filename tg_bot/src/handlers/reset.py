"""/reset: a fresh thread for this conversation (the group's, in a group)."""

from __future__ import annotations

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command


async def reset(turn: Addressed, _args: str, services: Services) -> str:
    await services.rest.reset_threads(turn.conversation_key)
    return turn.t("reset.done")


COMMAND = Command("reset", reset)
