"""Which language the bot's own texts are in: the language the user writes in, not the one
of their Telegram app (`language_code`, which is only the default).

A text for the assistant that shows its language (`common/features/language.py`) sets the user's
recent language in this chat (`tg_bot:language:<chat>:<user>`, kept `RECENT_LANGUAGE_TTL_S`);
a command, "ok" or an emoji answers in that recent language. A command's arguments are not
read for it: they are zone or model names more often than words. The order of the signals is
`common.features.language.choose_language`.
"""

from __future__ import annotations

from common.features.language import choose_language, detect_language
from tg_bot.src.handlers.addressing import parse_command
from tg_bot.src.handlers.base import Addressed, Services

#: How long the language a user wrote in is remembered without a new signal.
RECENT_LANGUAGE_TTL_S = 30 * 24 * 3600


def written_language(text: str) -> str | None:
    """The language `text` is written in; None for a command or too little text."""
    return None if parse_command(text) else detect_language(text)


async def user_language(turn: Addressed, services: Services, written: str | None) -> str | None:
    """The language for the bot's replies to this turn (`written`: of its text, found once by
    the caller); None: the catalogue's default."""
    key = services.names.recent_language(turn.chat_id, turn.sender.id)
    if written is not None:
        await services.redis.set(key, written, ex=RECENT_LANGUAGE_TTL_S)
        return written
    recent = await services.redis.get(key)
    return choose_language(
        recent=recent.decode() if isinstance(recent, bytes) else recent,
        stored=turn.user.language if turn.user else None,
        app=turn.sender.language_code,
    )
