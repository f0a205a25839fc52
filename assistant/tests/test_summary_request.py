"""What the summarising model reads (`turn/summary.py summary_request`), for any history
rest_service hands back: the previous notes, then every said line in order, each cut to a
bounded length; tool traffic is left out."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.turn.summary import INSTRUCTIONS, MESSAGE_MAX_CHARS, summary_request
from common.infrastructure.wire import Message, MessageRole, ThreadSummary

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def message(i: int, role: MessageRole, content: str | None, author: str | None) -> Message:
    return Message(
        id=i + 1, thread_id="t", conversation_key="u", role=role, author=author,
        user_id=None, content=content, tool_calls=None, tool_call_id=None, name=None,
        model=None, tokens_in=None, tokens_out=None, latency_ms=None, dedup_key=None,
        created_at=NOW,
    )  # fmt: skip


def summary(notes: str) -> ThreadSummary:
    return ThreadSummary(
        thread_id="t", conversation_key="u", content=notes, covers_message_id=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


said = st.tuples(
    st.sampled_from(list(MessageRole)),
    st.one_of(st.none(), st.text(max_size=3 * MESSAGE_MAX_CHARS)),
    st.one_of(st.none(), st.text(max_size=20)),
)


@settings(max_examples=60, deadline=None)
@given(history=st.lists(said, max_size=12), notes=st.one_of(st.none(), st.text(max_size=200)))
def test_the_request_holds_the_notes_and_each_said_line_cut_to_size(
    history: list[tuple[MessageRole, str | None, str | None]], notes: str | None
) -> None:
    messages = [message(i, *item) for i, item in enumerate(history)]
    previous = None if notes is None else summary(notes)

    system, user = summary_request(previous, messages)

    assert system == {"role": "system", "content": INSTRUCTIONS}
    body = user["content"]
    assert body.startswith(f"Previous notes:\n{notes if notes is not None else '(none yet)'}\n")
    lines = body.split("\n\nNewer messages:\n", 1)[1]
    position = 0
    for m in messages:
        if m.role not in (MessageRole.user, MessageRole.assistant) or not m.content:
            continue
        head = f"{m.author or m.role}: {m.content[: MESSAGE_MAX_CHARS - 1]}"
        found = lines.find(head, position)
        assert found >= 0, head
        position = found + len(head)
    assert len(lines) <= len(messages) * (MESSAGE_MAX_CHARS + 32)
