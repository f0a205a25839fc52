"""The message catalogue: the bot's own words by key, in English and Russian.

The language is the one the user writes in (`handlers/language.py`), else Telegram's
`language_code`; English when we have no catalogue for it. Entries are
Markdown, rendered like the assistant's answers; values filled into them are escaped, so a
user called `*Bob*` stays `*Bob*`. A value that is itself catalogue Markdown (a list built
from other entries) is passed as `Markdown(...)` and goes in as it is.
"""

from __future__ import annotations

from tg_bot.src.domain.formatting import escape_markdown
from tg_bot.src.i18n import en, ru

DEFAULT_LANGUAGE = "en"
CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "ru": ru.MESSAGES}


class Markdown(str):
    """Text that is already Markdown: inserted without escaping."""

    __slots__ = ()


def language_for(language_code: str | None) -> str:
    """`ru`, `ru-RU` → ru; anything unknown or missing → English."""
    base = (language_code or "").replace("_", "-").split("-")[0].lower()
    return base if base in CATALOGUES else DEFAULT_LANGUAGE


class Catalogue:
    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGUES else DEFAULT_LANGUAGE
        self._messages = CATALOGUES[self.language]

    @classmethod
    def for_code(cls, language_code: str | None) -> Catalogue:
        return cls(language_for(language_code))

    def text(self, key: str, **values: object) -> str:
        """The entry `key` with `values` filled in (English if this language lacks it)."""
        template = self._messages.get(key) or CATALOGUES[DEFAULT_LANGUAGE][key]
        return template.format(**{name: _safe(value) for name, value in values.items()})


def _safe(value: object) -> str:
    if isinstance(value, Markdown):
        return str(value)
    return escape_markdown(str(value))
