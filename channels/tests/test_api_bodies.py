"""What OpenAI clients send to `/v1/chat/completions`, read as the public API reads it: the
bodies real client libraries and tools write are taken, the new user message is their last
user message's text, and any other body is refused saying why (never an exception of ours)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from channels.src.adapters.api.schemas import (
    PERSON_MAX,
    SECRETARY,
    TEXT_MAX,
    ChatCompletionRequest,
    MessageIn,
)
from tests.tiers import examples

#: Bodies as client libraries and tools send them (their options, their content shapes).
CLIENT_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (
        "openai-python",
        {
            "model": "secretary",
            "messages": [{"role": "user", "content": "What's on today?"}],
            "user": "alice",
        },
        "What's on today?",
    ),
    (
        "langchain ChatOpenAI",
        {
            "model": "secretary",
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "book lunch with Anna on Friday"},
            ],
            "n": 1,
            "stream": False,
            "temperature": 0.7,
        },
        "book lunch with Anna on Friday",
    ),
    (
        "vercel ai sdk, content parts",
        {
            "model": "secretary",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}},
                    ],
                }
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        "What is in this picture?",
    ),
    (
        "n8n, tools and a tool result after the question",
        {
            "model": "secretary",
            "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            "tools": [{"type": "function", "function": {"name": "w", "parameters": {}}}],
            "max_tokens": 200,
        },
        "weather in Paris?",
    ),
    (
        "curl with no model, a developer message and unicode",
        {
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": "  Напомни позвонить маме в 18:00 🙂  "},
            ]
        },
        "Напомни позвонить маме в 18:00 🙂",
    ),
]


@pytest.mark.parametrize(("body", "said"), [(b, s) for _, b, s in CLIENT_BODIES])
def test_what_client_libraries_send_is_taken_and_its_last_user_message_said(
    body: dict[str, Any], said: str
) -> None:
    request = ChatCompletionRequest.model_validate(body)
    assert request.said() == said
    assert request.model == body.get("model", SECRETARY)


@pytest.mark.parametrize(
    ("messages", "why"),
    [
        ([{"role": "system", "content": "only instructions"}], "no message with role 'user'"),
        ([{"role": "user", "content": "   "}], "has no text"),
        ([{"role": "user", "content": [{"type": "image_url"}]}], "has no text"),
        ([{"role": "user", "content": "x" * (TEXT_MAX + 1)}], f"over {TEXT_MAX}"),
    ],
)
def test_a_request_with_nothing_to_say_says_why(messages: list[Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ChatCompletionRequest.model_validate({"messages": messages}).said()


ROLES = st.sampled_from(["user", "system", "assistant", "tool", "developer"])
CONTENT = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image_url"]), "text": st.text(max_size=20)}
        ),
        max_size=3,
    ),
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.fixed_dictionaries({"role": ROLES, "content": CONTENT}), min_size=1, max_size=6))
def test_the_said_text_is_the_last_user_messages_or_a_reason(messages: list[Any]) -> None:
    request = ChatCompletionRequest.model_validate({"messages": messages})
    users = [m for m in request.messages if m.role == "user"]
    try:
        said = request.said()
    except ValueError as exc:
        assert str(exc)
        assert not users or not users[-1].text().strip()
    else:
        assert users and said == users[-1].text().strip() and said


@pytest.mark.parametrize(
    "attachment",
    [{}, {"file_id": "file-" + "0" * 32, "url": "https://example.org/a.pdf"}],
)
def test_an_attachment_is_a_file_id_or_a_url_never_both_or_none(attachment: Any) -> None:
    with pytest.raises(ValidationError, match="either file_id or url"):
        MessageIn.model_validate({"text": "x", "user": "u", "attachments": [attachment]})


PEOPLE = st.text(max_size=PERSON_MAX + 5)


@settings(max_examples=examples(200), deadline=None)
@given(PEOPLE)
def test_a_person_id_is_printable_text_or_refused_by_its_field(user: str) -> None:
    try:
        message = MessageIn.model_validate({"text": "hi", "user": user})
    except ValidationError as exc:
        assert {e["loc"][0] for e in exc.errors()} == {"user"}
    else:
        assert message.user == user and user.strip()
        assert len(user) <= PERSON_MAX
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in user)
