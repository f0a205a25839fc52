"""The bot's own words by key, in English and Russian, on the common catalogue.

Which language a reply takes is `common.language.choose_language` (`handlers/language.py`
gathers its inputs). Entries are Markdown, rendered like the assistant's answers; values filled
into them are escaped, so a user called `*Bob*` stays `*Bob*`. A value that is itself catalogue
Markdown (a list built from other entries) is passed as `Markdown(...)` and goes in as it is.
"""

from __future__ import annotations

from common.catalogue import Catalogue
from tg_bot.src.domain.formatting import escape_markdown
from tg_bot.src.i18n import en, ru


class Markdown(str):
    """Text that is already Markdown: inserted without escaping."""

    __slots__ = ()


def _escaped(value: object) -> str:
    if isinstance(value, Markdown):
        return str(value)
    return escape_markdown(str(value))


CATALOGUE = Catalogue({"en": en.MESSAGES, "ru": ru.MESSAGES}, fill=_escaped)
