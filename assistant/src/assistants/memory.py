"""Short- and long-term memory as chat messages.

Short-term: the thread's newest messages within MAX_CONTEXT_MESSAGES and
MAX_CONTEXT_LENGTH, and only whole tool exchanges (an assistant message with `tool_calls`
followed by a result for every call): a window that would cut one drops it whole, since the
protocol rejects a tool result without its call. Long-term: older messages found by search,
within LONG_TERM_MEMORY_LENGTH, as one system message. Between them: the thread's running
summary of the turns before the window (`assistant/src/turn/summary.py` keeps it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from common.infrastructure.text import clean_text, trim
from common.infrastructure.wire import Message, ThreadSummary

#: A message as rest_service stored it (a search hit is one too).
StoredMessage = Message

#: rest_service's limit on a memory query (`MemoryQuery.q`); a longer one is a 422.
MEMORY_QUERY_MAX_CHARS = 2000

MEMORY_HEADER = "Earlier messages of this conversation that may be relevant (long-term memory):"
SUMMARY_HEADER = (
    "Earlier in this conversation (your own notes on the turns no longer shown; "
    "trust them as you would your memory):"
)


def memory_query(text: str) -> str | None:
    """The user's words as a search rest_service accepts: no NUL or lone surrogates, at most
    MEMORY_QUERY_MAX_CHARS (the start of a long message says what it is about)."""
    query = trim(clean_text(text).replace("\ufffd", " "), MEMORY_QUERY_MAX_CHARS).strip()
    return query or None


def message_size(message: Mapping[str, Any]) -> int:
    """What a chat-completions message costs against MAX_CONTEXT_LENGTH."""
    return _size(message.get("content"), message.get("tool_calls"))


def _size(content: str | None, tool_calls: list[dict[str, Any]] | None) -> int:
    """Its text and its calls' arguments."""
    size = len(content or "")
    if tool_calls:
        size += len(json.dumps(tool_calls, ensure_ascii=False))
    return size


def window(
    messages: Sequence[StoredMessage], max_messages: int, max_chars: int
) -> list[StoredMessage]:
    """The newest messages (given oldest first) within both limits, whole exchanges only."""
    kept: list[StoredMessage] = []
    total = 0
    for message in reversed(messages):
        size = _size(message.content, message.tool_calls)
        if len(kept) >= max_messages or total + size > max_chars:
            break
        kept.append(message)
        total += size
    kept.reverse()
    return whole_tool_exchanges(kept)


def whole_tool_exchanges(messages: Sequence[StoredMessage]) -> list[StoredMessage]:
    """Drop tool results without their call, and calls without all their results."""
    out: list[StoredMessage] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        if message.role == "tool":
            i += 1
            continue
        if message.role == "assistant" and message.tool_calls:
            results, i = _results_after(messages, i + 1)
            wanted = {call.get("id") for call in message.tool_calls}
            answered = {r.tool_call_id for r in results}
            if wanted <= answered:
                out.append(message)
                out.extend(r for r in results if r.tool_call_id in wanted)
            continue
        out.append(message)
        i += 1
    return out


def _results_after(
    messages: Sequence[StoredMessage], start: int
) -> tuple[list[StoredMessage], int]:
    end = start
    while end < len(messages) and messages[end].role == "tool":
        end += 1
    return list(messages[start:end]), end


def to_openai(message: StoredMessage, *, group: bool) -> dict[str, Any]:
    """A stored message as the chat-completions protocol takes it; in groups, user messages
    say who wrote them."""
    role = message.role
    content = message.content or ""
    if role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": content}
    if role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = message.tool_calls
        elif out["content"] is None:
            out["content"] = ""
        return out
    if role == "user" and group and message.author:
        return {"role": "user", "content": f"{message.author}: {content}"}
    return {"role": str(role), "content": content}


def memory_message(
    hits: Sequence[StoredMessage], max_chars: int, *, group: bool
) -> dict[str, Any] | None:
    """The best search hits as one system message, within `max_chars` of quoted text."""
    lines: list[str] = []
    total = 0
    for hit in hits:
        if hit.role not in {"user", "assistant"} or not hit.content:
            continue
        line = f"- [{hit.created_at.date()}] {_speaker(hit, group)}: {hit.content}"
        if total + len(line) > max_chars:
            room = max_chars - total
            if room > 40:
                lines.append(line[: room - 1] + "…")
            break
        lines.append(line)
        total += len(line)
    if not lines:
        return None
    return {"role": "system", "content": "\n".join([MEMORY_HEADER, *lines])}


def summary_message(summary: ThreadSummary | None) -> dict[str, Any] | None:
    """The thread's running summary as one system message before the recent window."""
    if summary is None:
        return None
    return {"role": "system", "content": f"{SUMMARY_HEADER}\n{summary.content}"}


def _speaker(hit: StoredMessage, group: bool) -> str:
    if hit.role == "assistant":
        return "assistant"
    return hit.author if group and hit.author else "user"
