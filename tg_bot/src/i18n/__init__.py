"""The bot's own words: the common catalogue (`common.features.texts`), its values escaped for
Markdown.

Which language a reply takes is `common.features.language.choose_language` (`handlers/language.py`
gathers its inputs). Entries are Markdown, rendered like the assistant's answers; values filled
into them are escaped, so a user called `*Bob*` stays `*Bob*`. A value that is itself catalogue
Markdown (a list built from other entries) is passed as `Markdown(...)` and goes in as it is.
"""

from __future__ import annotations

from common.features.catalogue import Catalogue
from common.features.texts import TEXTS
from tg_bot.src.domain.formatting import escape_markdown


class Markdown(str):
    """Text that is already Markdown: inserted without escaping."""

    __slots__ = ()


def _escaped(value: object) -> str:
    if isinstance(value, Markdown):
        return str(value)
    return escape_markdown(str(value))


CATALOGUE: Catalogue = TEXTS.filling(_escaped)
"""Markdown; `{name}`s are filled in escaped."""
