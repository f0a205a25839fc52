"""The language of a turn, by the one rule (`common.features.language.choose_language`): the one the
user writes in (this message, else their recent messages in the thread), else the profile's,
else Telegram's `language_code`. The assistant's own sentences (`phrases.py`), the prompt's
hint and the tools' phrase parsing follow it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from common.features.language import choose_language, detect_language, recent_language
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.wire import Message, TurnBackground, User


def turn_language(
    message: IncomingMessage, profile: User | None, start: TurnBackground | None
) -> str | None:
    history = _own_texts(message, start.recent if start else [])
    return choose_language(
        written=detect_language(message.text),
        recent=recent_language(history),
        stored=profile.language if profile else None,
        app=message.language_code,
    )


def _own_texts(message: IncomingMessage, recent: Sequence[Message]) -> Iterator[str]:
    """The sender's earlier messages, newest first (in a group, only theirs)."""
    for stored in reversed(recent):
        if stored.role != "user" or not stored.content:
            continue
        if message.is_group and str(stored.user_id) != str(message.user_id):
            continue
        yield stored.content
