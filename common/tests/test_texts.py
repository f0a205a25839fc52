"""The one text catalogue: every text in every language the bot speaks, with English's
placeholders, and the only catalogue in the code."""

from __future__ import annotations

import re
import string
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.schedule import describe
from common.features.texts import KEEP, LANGUAGES, LISTS, MOVE, NO, OFF, ON, TEXTS, YES, items
from common.tests.test_schedule import cron_fields

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("tg_bot", "assistant", "rest_service", "google_calendar_service", "cron_service")
ENGLISH = TEXTS.texts["en"]
KEYS = sorted(ENGLISH)
PROPERTY = settings(max_examples=200, deadline=None)


def placeholders(template: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(template) if name)


def test_the_catalogue_speaks_the_four_languages_english_first() -> None:
    assert TEXTS.languages == LANGUAGES == ("en", "ru", "uk", "de")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_exists_in_every_language(language: str) -> None:
    entries = TEXTS.texts[language]
    assert sorted(entries) == KEYS
    assert [key for key in KEYS if not entries[key].strip()] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_the_placeholders_of_english(language: str) -> None:
    entries = TEXTS.texts[language]
    differing = [k for k in KEYS if placeholders(entries[k]) != placeholders(ENGLISH[k])]
    assert differing == []


@pytest.mark.parametrize("key", sorted(LISTS))
def test_a_list_has_as_many_items_in_every_language(key: str) -> None:
    for language in LANGUAGES:
        found = items(language, key)
        assert all(item.strip() == item and item for item in found), (language, found)
        if not key.startswith("words."):  # answers may have more or fewer words
            assert len(found) == len(items("en", key)), language


def test_a_text_equal_to_english_has_no_words_to_translate() -> None:
    """Only placeholders, commands and marks may stay as they are in English."""
    for language in LANGUAGES[1:]:
        for key in KEYS:
            text = TEXTS.texts[language][key]
            words = re.sub(r"\{\w+\}|/\w+", "", text)
            assert text != ENGLISH[key] or not re.search(r"[^\W\d_]", words), (language, key)


def test_yes_and_no_are_one_set_each_and_a_commands_own_words_are_apart() -> None:
    assert {"yes", "confirm", "да", "подтвердить", "подтверждаю"} <= YES
    assert {"no", "decline", "нет", "отклонить", "отклоняю"} <= NO
    assert {"так", "ja"} <= YES and {"ні", "nein"} <= NO
    assert {"move", "перенести", "перенеси"} <= MOVE and {"keep", "оставить", "оставь"} <= KEEP
    assert {"on", "enable", "вкл", "включить", "включи"} <= ON
    assert {"off", "disable", "выкл", "выключить", "выключи"} <= OFF
    sets = [YES, NO, MOVE, KEEP, ON, OFF]
    assert all(not a & b for i, a in enumerate(sets) for b in sets[i + 1 :]), "a word in two"


def test_no_service_builds_a_catalogue_of_its_own() -> None:
    built = [
        path.relative_to(ROOT)
        for service in (*SERVICES, "common")
        for path in (ROOT / service).rglob("*.py")
        if "tests" not in path.parts and "Catalogue(" in path.read_text()
    ]
    assert [str(path) for path in built] == [
        "common/features/catalogue.py",
        "common/features/texts/__init__.py",
    ]


@PROPERTY
@given(
    st.sampled_from(KEYS),
    st.sampled_from(LANGUAGES),
    st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
)
def test_every_value_given_appears_in_the_text_in_every_language(
    key: str, language: str, value: str
) -> None:
    values = {name: f"<{value}{i}>" for i, name in enumerate(placeholders(ENGLISH[key]))}
    text = TEXTS.text(language, key, **values)
    assert all(filled in text for filled in values.values())


@PROPERTY
@given(st.sampled_from(KEYS), st.one_of(st.none(), st.text(max_size=8)))
def test_a_language_outside_the_four_gets_english(key: str, code: str | None) -> None:
    base = (code or "").replace("_", "-").split("-")[0].lower()
    values = {name: name for name in placeholders(ENGLISH[key])}
    expected = TEXTS.text(base if base in LANGUAGES else "en", key, **values)
    assert TEXTS.text(code, key, **values) == expected


@PROPERTY
@given(st.data(), st.sampled_from(LANGUAGES[1:]))
def test_a_schedule_has_words_in_every_language_when_it_has_them_in_english(
    data: st.DataObject, language: str
) -> None:
    expression, _ = data.draw(cron_fields(time(9, 0)))
    fallback = TEXTS.text(language, "schedule.cron_code", code="")
    english_has_words = not describe(expression, "en").startswith("on the cron schedule")
    words = describe(expression, language)
    assert words.startswith(fallback) != english_has_words
    assert words != describe(expression, "en")


def test_a_text_said_in_telegram_and_in_the_other_channels_names_no_one_channel() -> None:
    """What tg_bot and the channels service both say, people in every channel hear: "from
    Telegram" in one (a file that could not be fetched) told a WhatsApp user the wrong app."""

    def said_in(service: str) -> set[str]:
        code = "\n".join(p.read_text() for p in (ROOT / service / "src").rglob("*.py"))
        return {key for key in KEYS if re.search(rf"[\"']{re.escape(key)}[\"']", code)}

    shared = said_in("tg_bot") & said_in("channels")
    assert "media.download_failed" in shared
    naming = [
        (language, key)
        for language in LANGUAGES
        for key in sorted(shared)
        if "Telegram" in TEXTS.texts[language][key]
    ]
    assert naming == []
