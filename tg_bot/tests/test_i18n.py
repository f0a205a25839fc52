"""The bot's words exist in every language the bot speaks, and the language follows the user."""

from __future__ import annotations

import re

import pytest

from tg_bot.src.i18n import CATALOGUE, Markdown

# Every language has every entry with the same placeholders: common/tests/test_catalogue.py.


def test_command_descriptions_fit_the_bot_api() -> None:
    for messages in CATALOGUE.texts.values():
        for key, text in messages.items():
            if key.startswith("command."):
                assert 1 <= len(text) <= 256 and "\n" not in text


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("ru-RU", "ru"), ("en-GB", "en"), ("de", "de"), ("uk-UA", "uk"), ("fr", "en"),
     (None, "en"), ("", "en")],
)  # fmt: skip
def test_language_comes_from_language_code_with_english_when_unknown(
    code: str | None, language: str
) -> None:
    assert CATALOGUE.language(code) == language


def test_values_are_escaped_unless_they_are_markdown_already() -> None:
    catalogue = CATALOGUE.speaking("en")
    assert "\\*Bob\\*" in catalogue.text("start.returning", name="*Bob*")
    assert "**x**" in catalogue.text("help.text", commands=Markdown("**x**"))


def test_russian_text_is_russian() -> None:
    assert re.search("[а-я]", CATALOGUE.text("ru", "reset.done"))
