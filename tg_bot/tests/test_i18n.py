"""The bot's words exist in English and Russian alike, and the language follows the user."""

from __future__ import annotations

import re
import string

import pytest

from tg_bot.src.i18n import CATALOGUES, Catalogue, Markdown, language_for


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_entry_with_the_same_placeholders() -> None:
    english = CATALOGUES["en"]
    for language, messages in CATALOGUES.items():
        assert messages.keys() == english.keys(), language
        for key, template in messages.items():
            assert placeholders(template) == placeholders(english[key]), (language, key)


def test_command_descriptions_fit_the_bot_api() -> None:
    for messages in CATALOGUES.values():
        for key, text in messages.items():
            if key.startswith("command."):
                assert 1 <= len(text) <= 256 and "\n" not in text


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("ru-RU", "ru"), ("en-GB", "en"), ("de", "en"), (None, "en"), ("", "en")],
)
def test_language_comes_from_language_code_with_english_when_unknown(code, language) -> None:
    assert language_for(code) == language


def test_values_are_escaped_unless_they_are_markdown_already() -> None:
    catalogue = Catalogue("en")
    assert "\\*Bob\\*" in catalogue.text("start.returning", name="*Bob*")
    assert "**x**" in catalogue.text("help.text", commands=Markdown("**x**"))


def test_russian_text_is_russian() -> None:
    assert re.search("[а-я]", Catalogue("ru").text("reset.done"))
