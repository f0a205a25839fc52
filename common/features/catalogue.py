"""The mechanism of the text catalogue (`common.features.texts` holds the one catalogue every
service uses).

A catalogue is data: language → key → template, with named `str.format` fields. A language
code is read by its primary subtag (`ru-RU`, `ru_RU`, `RU` → `ru`); a language the catalogue
lacks, or a key its language lacks, falls back to English, so a reply is never missing. Which
language to ask for is `common.features.language.choose_language`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_LANGUAGE = "en"


class Catalogue:
    """Texts by language and key. `fill` turns each value into text before it goes in (tg_bot
    escapes Markdown there)."""

    def __init__(
        self, texts: Mapping[str, Mapping[str, str]], fill: Callable[[object], str] = str
    ) -> None:
        if DEFAULT_LANGUAGE not in texts:
            raise ValueError(f"a catalogue needs its {DEFAULT_LANGUAGE!r} texts to fall back on")
        self.texts = texts
        self._fill = fill

    def filling(self, fill: Callable[[object], str]) -> Catalogue:
        """The same texts with values filled in by `fill`."""
        return Catalogue(self.texts, fill)

    def section(self, domain: str) -> Catalogue:
        """The entries `domain.*`, by their keys without the prefix: one service's part."""
        start = f"{domain}."
        return Catalogue(
            {
                language: {
                    key[len(start) :]: text
                    for key, text in entries.items()
                    if key.startswith(start)
                }
                for language, entries in self.texts.items()
            },
            self._fill,
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The default language first."""
        return (DEFAULT_LANGUAGE, *(code for code in self.texts if code != DEFAULT_LANGUAGE))

    def language(self, code: str | None) -> str:
        """The catalogue language for `code`: its primary subtag when we have it, else English."""
        base = (code or "").replace("_", "-").split("-")[0].lower()
        return base if base in self.texts else DEFAULT_LANGUAGE

    def text(self, language: str | None, key: str, **values: object) -> str:
        """The entry `key` in `language` (English when it lacks it) with `values` filled in."""
        template = self.texts[self.language(language)].get(key) or self.texts[DEFAULT_LANGUAGE][key]
        return template.format(**{name: self._fill(value) for name, value in values.items()})

    def speaking(self, code: str | None) -> Texts:
        """The catalogue at one language, for a reply that says several things."""
        return Texts(self, self.language(code))


@dataclass(frozen=True)
class Texts:
    catalogue: Catalogue
    language: str

    def text(self, key: str, **values: object) -> str:
        return self.catalogue.text(self.language, key, **values)
