"""Which language a user writes in, from the text alone (the bot's texts follow it;
Telegram's `language_code` is the UI's language, often English for people who write Russian).

Script-based on purpose: what the bot says itself exists in a handful of languages, and what
tells them apart is the alphabet. Cyrillic with Ukrainian letters is `uk`, other Cyrillic
`ru`; Latin with German words (or letters and a word) is `de`, other Latin `en` unless it has
letters English does not use (é, ñ, ü…: a language we cannot name, or a name: no signal).
Too few letters ("ok", "/help", emoji, a link) give no signal either: None, and the caller
keeps what it knew (`choose_language`: what the user wrote last, their profile, their app).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Letters one script needs before it says anything.
MIN_LETTERS = 3
#: Latin letters English text needs (short Latin words are often names or "ok").
MIN_LATIN_LETTERS = 5

_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # links
    r"|\S+@\S+\.\S+"  # e-mail addresses
    r"|(?<!\w)[@/#][\w@]+"  # @mentions, /commands (/start@bot), #tags
    r"|`[^`]*`",  # inline code
    re.IGNORECASE,
)
_UKRAINIAN = frozenset("іїєґІЇЄҐ")
_GERMAN_LETTERS = frozenset("äöüßÄÖÜẞ")
# fmt: off
_GERMAN_WORDS = frozenset({
    "ich", "und", "nicht", "ist", "bin", "bitte", "danke", "hallo", "guten",
    "kannst", "mir", "mich", "wir", "sind", "auch", "noch", "heute", "morgen",
    "wetter", "uhr", "erinnere", "erinner", "termin", "kalender", "wie", "spät",
    "der", "das", "ein", "eine",
})
# fmt: on
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str | None:
    """`ru`, `uk`, `en`, `de`, or None when the text says nothing about its language."""
    cleaned = _NOISE.sub(" ", text)
    cyrillic = latin = 0
    ukrainian = german = foreign = False
    for char in cleaned:
        script = _script(char)
        if script == "cyrillic":
            cyrillic += 1
            ukrainian = ukrainian or char in _UKRAINIAN
        elif script == "latin":
            latin += 1
            if char in _GERMAN_LETTERS:
                german = True
            elif not char.isascii():
                foreign = True
    # Cyrillic is the rarer signal: Russian text quotes Latin names more than the reverse.
    if cyrillic >= MIN_LETTERS and cyrillic * 2 > latin:
        return "uk" if ukrainian else "ru"
    words = _german_words(cleaned)
    if words >= 2 or (german and words):
        return "de"
    if latin < MIN_LATIN_LETTERS or german or foreign:
        return None  # too short, or a Latin language we have no name for (or a name: Müller)
    return "en"


def choose_language(
    *,
    written: str | None = None,
    recent: str | None = None,
    stored: str | None = None,
    app: str | None = None,
) -> str | None:
    """The one rule for the language of a service's own words: the language of the text
    being answered, else the one the user wrote in last, else their profile's, else their
    Telegram app's (`language_code`). None: no signal, and the catalogue's default applies."""
    return written or recent or stored or app


def recent_language(texts: Iterable[str]) -> str | None:
    """The language of the first text (newest first) that gives a signal."""
    for text in texts:
        found = detect_language(text)
        if found is not None:
            return found
    return None


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    if "a" <= char.lower() <= "z":
        return "latin"
    try:
        name = unicodedata.name(char)
    except ValueError:
        return None
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith("LATIN"):
        return "latin"
    return None


def _german_words(text: str) -> int:
    return sum(1 for word in _WORD.findall(text.lower()) if word in _GERMAN_WORDS)
