"""Which language the bot's own texts are in: the language the user writes in, not the one
of their Telegram app (`language_code`, which is only the default).

A text for the assistant that shows its language (`common/language.py`) sets the user's
recent language in this chat (`tg_bot:language:<chat>:<user>`, kept `RECENT_LANGUAGE_TTL_S`);
a command, "ok" or an emoji answers in that recent language. A command's arguments are not
read for it: they are zone or model names more often than words.
"""

from __future__ import annotations

from common.language import detect_language
from common.logging import get_logger
from tg_bot.src.handlers.addressing import parse_command
from tg_bot.src.handlers.base import Addressed, Services

log = get_logger(__name__)

#: How long the language a user wrote in is remembered without a new signal.
RECENT_LANGUAGE_TTL_S = 30 * 24 * 3600


async def user_language(turn: Addressed, services: Services) -> str | None:
    """The language for the bot's replies to this turn; None: the catalogue's default."""
    key = services.names.recent_language(turn.chat_id, turn.sender.id)
    written = None if parse_command(turn.text) else detect_language(turn.text)
    if written is not None:
        await services.redis.set(key, written, ex=RECENT_LANGUAGE_TTL_S)
        return written
    recent = await services.redis.get(key)
    if recent:
        return recent.decode() if isinstance(recent, bytes) else str(recent)
    return turn.sender.language_code or (turn.user or {}).get("language")


def written_language(text: str, language_code: str | None) -> str | None:
    """Without Redis (a refusal, an apology for a failed update): the text, else the app's."""
    written = None if parse_command(text) else detect_language(text)
    return written or language_code
