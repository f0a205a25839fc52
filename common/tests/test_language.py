"""The language detector: a corpus of what people send a secretary, and any text at all."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.language import detect_language, recent_language

CORPUS: list[tuple[str, str | None]] = [
    # Russian, as typed in chat: no capitals, typos, Latin names, links, emoji.
    ("Привет! Какая погода в Москве?", "ru"),
    ("напомни мне завтра в 9 позвонить маме", "ru"),
    ("напомни про meeting в Zoom", "ru"),
    ("что у меня в календаре на пятницу", "ru"),
    ("сколько времени в Tokyo", "ru"),
    ("спасибо 🙏", "ru"),
    ("нет", "ru"),
    ("Посмотри https://example.com/very/long/path/to/an/english-article-about-things", "ru"),
    ("@smart_assistant_bot какая погода в Берлине", "ru"),
    ("/timezone Москва", "ru"),
    ("Каждый понедельник в 10 напоминай про отчёт", "ru"),
    ("ок, давай", "ru"),
    # Ukrainian: its own letters.
    ("Привіт, як справи?", "uk"),
    ("нагадай мені завтра о дев'ятій", "uk"),
    ("яка погода в Києві", "uk"),
    ("Дякую! Це все, що мені потрібно.", "uk"),
    # English.
    ("hello", "en"),
    ("What's the weather in Paris?", "en"),
    ("remind me in 1 minute to stretch", "en"),
    ("what time is it in Tokyo", "en"),
    ("What does 'привет' mean?", "en"),
    ("thanks!", "en"),
    ("schedule a call with Bob tomorrow at 3pm", "en"),
    ("@smart_assistant_bot what's on my calendar today", "en"),
    # German.
    ("Ich bin müde", "de"),
    ("Erinnere mich morgen um 9 Uhr an den Termin", "de"),
    ("Wie ist das Wetter heute in Berlin?", "de"),
    ("Danke, das ist gut", "de"),
    # No signal: too short, commands, emoji, links, numbers, other scripts, unknown Latin.
    ("ok", None),
    ("OK!", None),
    ("да", None),
    ("/help", None),
    ("/start@smart_assistant_bot", None),
    ("👍", None),
    ("😂😂😂", None),
    ("https://example.com/some/english/words", None),
    ("12:30", None),
    ("+7 999 123-45-67", None),
    ("", None),
    ("   \n\t", None),
    ("東京の天気は？", None),
    ("مرحبا كيف حالك", None),
    ("Ça va très bien, merci", None),
    ("¿Qué tiempo hace en Madrid?", None),
    ("Call Müller tomorrow please", None),
    ("`print('hello world')`", None),
    ("lol", None),
]


@pytest.mark.parametrize(("text", "expected"), CORPUS)
def test_the_corpus_is_read_as_its_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_recent_language_is_the_newest_text_that_says_something() -> None:
    assert recent_language(["ok", "/help", "напомни завтра", "hello there"]) == "ru"
    assert recent_language(["👍", "ok"]) is None
    assert recent_language([]) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=4096))
def test_any_text_is_a_known_code_or_none(text: str) -> None:
    assert detect_language(text) in {"ru", "uk", "en", "de", None}


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-16", categories=["Cs", "So", "Zs", "Po"])))
def test_lone_surrogates_symbols_and_spaces_give_no_signal(text: str) -> None:
    """What a Telegram update may carry (unpaired surrogates included) never raises."""
    assert detect_language(text) is None


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="абвгдежзиклмнопрстуфхцчшщыэюя ", min_size=3),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=20),
)
def test_russian_text_with_a_few_latin_words_stays_russian(russian: str, latin: str) -> None:
    letters = sum(c.isalpha() for c in russian)
    if letters < 3 or letters * 2 <= sum(c.isalpha() for c in latin):
        return
    assert detect_language(f"{russian} {latin}") == "ru"
