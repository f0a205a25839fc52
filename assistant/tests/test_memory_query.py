"""The long-term memory query: whatever the user wrote, rest_service accepts it (at most
2 000 characters, no NUL, valid UTF-8), and it is None only when nothing is left."""

from __future__ import annotations

from hypothesis import given, settings

from assistant.src.assistants.memory import MEMORY_QUERY_MAX_CHARS, memory_query
from common.tests.strategies import any_text


@settings(max_examples=300, deadline=None)
@given(any_text(5000))
def test_any_message_makes_a_query_rest_service_accepts(text: str) -> None:
    query = memory_query(text)
    if query is None:
        return
    assert 0 < len(query) <= MEMORY_QUERY_MAX_CHARS
    assert "\x00" not in query
    query.encode("utf-8")


def test_a_long_message_is_cut_at_a_word() -> None:
    query = memory_query("dentist " * 1000)
    assert query is not None and len(query) <= MEMORY_QUERY_MAX_CHARS
    assert query.endswith("dentist")


def test_blank_or_only_unreadable_text_has_no_query() -> None:
    assert memory_query("  ") is None
    assert memory_query("\x00\ud800") is None
