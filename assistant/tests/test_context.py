"""The short-term window and long-term memory as chat messages."""

from __future__ import annotations

from typing import Any

from assistant.src.assistants.memory import (
    memory_message,
    to_openai,
    whole_tool_exchanges,
    window,
)
from common.infrastructure.wire import Message, SearchHit


def stored(**fields: Any) -> Message:
    """A message as rest_service answers it (the fields a test does not care about empty)."""
    ids = {"id": 1, "thread_id": "t", "conversation_key": "c", "created_at": "2024-01-02T10:00:00"}
    return Message.model_validate(dict.fromkeys(Message.model_fields) | ids | fields)


def user(text: str, **extra: Any) -> Message:
    return stored(role="user", content=text, **extra)


def answer(text: str) -> Message:
    return stored(role="assistant", content=text)


def call(*ids: str) -> Message:
    calls = [
        {"id": i, "type": "function", "function": {"name": "time", "arguments": "{}"}} for i in ids
    ]
    return stored(role="assistant", content=None, tool_calls=calls)


def result(call_id: str) -> Message:
    return stored(role="tool", tool_call_id=call_id, content="{}")


def test_window_keeps_the_newest_within_the_message_limit() -> None:
    history = [user(f"m{i}") for i in range(10)]
    assert [m.content for m in window(history, 3, 10_000)] == ["m7", "m8", "m9"]


def test_window_keeps_the_newest_within_the_length_limit() -> None:
    history = [user("x" * 100) for _ in range(10)]
    assert len(window(history, 100, 350)) == 3


def test_a_window_starting_inside_a_tool_exchange_drops_its_results() -> None:
    history = [user("q"), call("a", "b"), result("a"), result("b"), answer("done")]
    kept = window(history, 3, 10_000)
    assert kept == [answer("done")]


def test_a_call_without_all_its_results_is_dropped_whole() -> None:
    history = [user("q"), call("a", "b"), result("a"), user("next")]
    assert whole_tool_exchanges(history) == [user("q"), user("next")]


def test_complete_exchanges_are_kept_in_order() -> None:
    history = [user("q"), call("a"), result("a"), answer("done")]
    assert whole_tool_exchanges(history) == history


def test_group_user_messages_say_who_wrote_them() -> None:
    assert to_openai(user("hi", author="Alice"), group=True)["content"] == "Alice: hi"
    assert to_openai(user("hi", author="Alice"), group=False)["content"] == "hi"


def test_an_assistant_message_stored_without_text_or_calls_is_sent_as_empty_text() -> None:
    """An assistant message must have content unless it makes calls: a stored one with
    neither goes to the model as empty text, not as null."""
    silent = stored(role="assistant", content=None, tool_calls=None)
    assert to_openai(silent, group=False) == {"role": "assistant", "content": ""}
    # A message that makes calls keeps its null content: that is what the protocol wants.
    assert to_openai(call("c1"), group=False)["content"] is None


def test_memory_is_one_system_message_within_its_length() -> None:
    found = [
        {"role": "user", "content": "my cat is called Barsik", "created_at": "2024-01-02T10:00:00"},
        {"role": "assistant", "content": "y" * 500, "created_at": "2024-01-02T10:00:01"},
        {"role": "tool", "content": "ignored", "created_at": "2024-01-02T10:00:01"},
    ]
    hits = [SearchHit.model_validate(stored(**hit).model_dump() | {"rank": 1.0}) for hit in found]
    message = memory_message(hits, 200, group=False)
    assert message is not None and message["role"] == "system"
    assert "Barsik" in message["content"] and "ignored" not in message["content"]
    body = message["content"].split("\n", 1)[1]
    assert len(body) <= 200 + 1


def test_no_hits_no_memory_message() -> None:
    assert memory_message([], 1000, group=False) is None
