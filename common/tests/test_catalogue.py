"""The one catalogue mechanism, the catalogue built on it, and the one language rule."""

from __future__ import annotations

import string

import pytest

from common.features.catalogue import DEFAULT_LANGUAGE, Catalogue
from common.features.language import choose_language
from common.features.texts import TEXTS

# Every service's texts are this one catalogue now (common/tests/test_texts.py checks more).
CATALOGUES = {"common.features.texts": TEXTS}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("service", CATALOGUES)
def test_every_language_has_every_entry_with_the_same_placeholders(service: str) -> None:
    texts = CATALOGUES[service].texts
    english = texts[DEFAULT_LANGUAGE]
    for language, entries in texts.items():
        assert entries.keys() == english.keys(), (service, language)
        for key, template in entries.items():
            assert placeholders(template) == placeholders(english[key]), (service, language, key)


SAMPLE = Catalogue(
    {
        "en": {"hello": "Hello, {name}!", "bye": "Bye"},
        "ru": {"hello": "Привет, {name}!", "bye": ""},
    }
)


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("ru-RU", "ru"), ("RU_ru", "ru"), ("en-GB", "en"), ("de", "en"), (None, "en"),
     ("", "en")],
)  # fmt: skip
def test_a_code_is_read_by_its_primary_subtag_with_english_when_unknown(
    code: str | None, language: str
) -> None:
    assert SAMPLE.language(code) == language


def test_named_fields_are_filled_and_missing_texts_fall_back_to_english() -> None:
    assert SAMPLE.text("ru-RU", "hello", name="Анна") == "Привет, Анна!"
    assert SAMPLE.text("de", "hello", name="Anna") == "Hello, Anna!"
    assert SAMPLE.text("ru", "bye") == "Bye"
    assert SAMPLE.speaking("ru").text("hello", name="Анна") == "Привет, Анна!"
    assert SAMPLE.languages == ("en", "ru")


def test_fill_turns_every_value_into_text() -> None:
    shouting = Catalogue(SAMPLE.texts, fill=lambda value: str(value).upper())
    assert shouting.text("en", "hello", name="anna") == "Hello, ANNA!"


def test_a_catalogue_without_english_is_refused() -> None:
    with pytest.raises(ValueError):
        Catalogue({"ru": {"bye": "Пока"}})


def test_the_language_rule_takes_the_first_signal_in_order() -> None:
    assert choose_language(written="ru", recent="en", stored="de", app="uk") == "ru"
    assert choose_language(recent="en", stored="de", app="uk") == "en"
    assert choose_language(stored="de", app="uk") == "de"
    assert choose_language(app="uk") == "uk"
    assert choose_language() is None
