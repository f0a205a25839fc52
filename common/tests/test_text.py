"""Cleaning outside text: any Unicode string (lone surrogates, NUL) becomes one that UTF-8
and Postgres accept, the same length in UTF-16 code units (Telegram's entity offsets)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.text import clean_text, clean_tree, trim
from common.tests.strategies import any_text

ANY_TEXT = any_text(300)
PROPERTY = settings(max_examples=300, deadline=None)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@PROPERTY
@given(ANY_TEXT)
def test_clean_text_is_utf8_without_nul_and_keeps_utf16_length(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert "\x00" not in cleaned
    assert utf16_units(cleaned) == utf16_units(text)


@PROPERTY
@given(st.text(max_size=300).filter(lambda t: "\x00" not in t))
def test_clean_text_leaves_valid_text_alone(text: str) -> None:
    assert clean_text(text) == text


def test_a_split_surrogate_pair_is_joined_and_a_lone_one_replaced() -> None:
    assert clean_text("\ud83d\ude00 a\ud800b\x00") == "\U0001f600 a\ufffdb\ufffd"


@PROPERTY
@given(st.recursive(ANY_TEXT | st.integers(), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=10))  # fmt: skip
def test_clean_tree_cleans_every_string(value: object) -> None:
    def strings(v: object) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, dict):
            return [s for k, x in v.items() for s in strings(k) + strings(x)]
        if isinstance(v, list):
            return [s for x in v for s in strings(x)]
        return []

    for text in strings(clean_tree(value)):
        text.encode("utf-8")


@PROPERTY
@given(ANY_TEXT, st.integers(1, 400))
def test_trim_is_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = trim(text, limit)
    assert len(cut) <= limit and text.startswith(cut)
    if len(text) <= limit:
        assert cut == text
