"""The long-term memory query: whatever the user wrote, rest_service accepts it (at most
2 000 characters, no NUL, valid UTF-8), and it is None only when nothing is left."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings

from assistant.src.assistants.memory import (
    MEMORY_HEADER,
    MEMORY_QUERY_MAX_CHARS,
    memory_message,
    memory_query,
)
from common.infrastructure.wire import Message, MessageRole
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


def hit(role: str, content: str | None, author: str | None = None) -> Message:
    return Message(
        id=1, thread_id="t", conversation_key="c", role=MessageRole(role), author=author,
        user_id=None, content=content, tool_calls=None, tool_call_id=None, name=None,
        model=None, tokens_in=None, tokens_out=None, latency_ms=None, dedup_key=None,
        created_at=datetime(2025, 3, 4, 12, 0, tzinfo=UTC),
    )  # fmt: skip


def test_remembered_messages_are_quoted_by_speaker_without_tool_results() -> None:
    hits = [
        hit("user", "my cat is called Tom", author="Anya"),
        hit("tool", '{"weather": "rain"}'),
        hit("assistant", None),
        hit("assistant", "Noted: Tom."),
    ]
    private = memory_message(hits, 1000, group=False)
    group = memory_message(hits, 1000, group=True)
    assert private is not None and group is not None
    assert private["content"].splitlines() == [
        MEMORY_HEADER,
        "- [2025-03-04] user: my cat is called Tom",
        "- [2025-03-04] assistant: Noted: Tom.",
    ]
    assert group["content"].splitlines()[1] == "- [2025-03-04] Anya: my cat is called Tom"


def test_memory_stays_within_its_characters_and_a_long_hit_is_cut_marked() -> None:
    hits = [hit("user", "a" * 30), hit("user", "b" * 500), hit("user", "c" * 10)]
    found = memory_message(hits, 200, group=False)
    assert found is not None
    _header, first, cut = found["content"].splitlines()
    assert first.endswith("a" * 30) and cut.endswith("…") and "c" not in cut
    assert len(first) + len(cut) <= 200
    # no room worth a quote: the long hit is left out, and with it everything after
    assert memory_message(hits, 60, group=False)["content"].count("\n") == 1  # type: ignore[index]
    assert memory_message([hit("tool", "x"), hit("user", "")], 200, group=False) is None
