"""Every text a service says to a user, in every language the bot speaks: one catalogue.

One module per language; `en.py` is the reference and the fallback, and every other language
holds the same keys with the same `{placeholders}` (common/tests/test_texts.py). Keys start
with their domain: the bot's commands (`help.`, `reminders.`…), `assistant.`, `attachment.`,
`alert.`, `label.` (buttons), `fire.` (cron_service), `calendar.`, `schedule.` (words of
`common.features.schedule.describe`) and `words.` (what a user may answer). Which language a user
gets is `common.features.language.choose_language`; a language outside these four gets English.
"""

from __future__ import annotations

from common.features.catalogue import Catalogue
from common.features.texts import de, en, ru, uk

LANGUAGES = ("en", "ru", "uk", "de")
TEXTS = Catalogue({"en": en.TEXTS, "ru": ru.TEXTS, "uk": uk.TEXTS, "de": de.TEXTS})
#: Entries that are comma-separated lists; the others are `str.format` templates.
LISTS = frozenset(
    {
        "reminders.weekdays",
        "schedule.days",
        "schedule.every_weekday",
        "schedule.every_other_weekday",
        "schedule.months",
        "schedule.numbers",
        "words.yes",
        "words.no",
        "words.move",
        "words.keep",
        "words.on",
        "words.off",
    }
)


def items(language: str | None, key: str) -> list[str]:
    """A list entry in `language` (English when the catalogue lacks it)."""
    return TEXTS.text(language, key).split(",")


def words(key: str) -> frozenset[str]:
    """A word list (`words.yes`) in every language at once, casefolded: an answer counts in
    whichever language it is typed, whatever the user's language."""
    return frozenset(
        word.strip().casefold()
        for language in LANGUAGES
        for word in TEXTS.text(language, key).split(",")
    )


#: An answer to a question: every command that asks takes these.
YES = words("words.yes")
NO = words("words.no")
#: What else a question's own answers may be ("move" the reminders to the new zone, or "keep"
#: them; turn voice replies "on" or "off"): never a yes to another question, so `/forget on`
#: deletes nothing.
MOVE = words("words.move")
KEEP = words("words.keep")
ON = words("words.on")
OFF = words("words.off")
