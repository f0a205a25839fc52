"""/start: a greeting, different for someone new and for someone coming back; a bots row's
bot greets with its own. A deep link's payload (`t.me/<bot>?start=<payload>`, Telegram's
rule: 1 to 64 of A-Z, a-z, 0-9, `_` and `-`) is kept for the lead the conversation may become
(the assistant's `lead` tool reads it); anything else after /start is ignored."""

from __future__ import annotations

import re

from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command

#: How long a deep link's payload is kept for a lead.
PAYLOAD_TTL_S = 30 * 24 * 3600
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def start(turn: Addressed, args: str, services: Services) -> str:
    """A bots row's greeting when it has one (its admin's words, as written)."""
    payload = args.strip()
    if turn.user is not None and _PAYLOAD.fullmatch(payload):
        bot = str(services.bot_id) if services.bot_id else None
        key = services.names.start_payload(bot, str(turn.user.id))
        await services.redis.set(key, payload, ex=PAYLOAD_TTL_S)
    if services.bot is not None and services.bot.greeting:
        return services.bot.greeting
    return turn.t("start.new" if turn.created else "start.returning", name=turn.display_name)


COMMAND = Command("start", start)
