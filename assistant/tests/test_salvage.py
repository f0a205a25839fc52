"""Salvaging a payload that did not parse, to apologise to its chat: whatever the bytes
said, the result is None or a message that can be answered and written on."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.orchestrator import salvage_for_apology
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM
from common.tests.strategies import any_text

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text(20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text(8), inner, max_size=3),
    max_leaves=8,
)
PAYLOADS = st.one_of(
    any_text(200),
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries(
        {"chat_id": st.one_of(st.integers(), st.text(max_size=5), st.floats())},
        optional={
            "reply_stream": st.one_of(any_text(20), st.sampled_from([TO_SECRETARY, "x"])),
            "language_code": any_text(5),
            "message_id": any_text(36),
            "text": JSON_VALUES,
            "channel": st.one_of(any_text(8), st.sampled_from(["whatsapp", "slack", "web"])),
            "channel_chat_id": st.one_of(any_text(20), st.integers()),
            "channel_thread_id": any_text(20),
        },
    ).map(json.dumps),
)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_salvage_gives_nothing_or_an_answerable_message(data: str) -> None:
    message = salvage_for_apology(data)
    if message is None:
        return
    message.to_json().encode("utf-8")
    assert not message.reply_stream.startswith(TO_SECRETARY)


def test_a_payload_naming_its_chat_is_salvaged_with_its_reply_stream() -> None:
    data = json.dumps({"chat_id": 5, "reply_stream": "cli:replies:x", "text": 7})
    message = salvage_for_apology(data)
    assert message is not None
    assert (message.chat_id, message.reply_stream) == (5, "cli:replies:x")
    back_to_itself = salvage_for_apology(json.dumps({"chat_id": 5, "reply_stream": TO_SECRETARY}))
    assert back_to_itself is not None and back_to_itself.reply_stream == (TO_TELEGRAM)


def test_a_payload_of_another_channel_is_apologised_for_in_that_channel() -> None:
    data = json.dumps(
        {
            "chat_id": 1 << 61,
            "channel": "whatsapp",
            "channel_chat_id": "4915112345678",
            "reply_stream": "queue:to_channels",
            "user_id": "not a uuid",
        }
    )
    message = salvage_for_apology(data)
    assert message is not None
    assert (message.channel, message.channel_chat_id) == ("whatsapp", "4915112345678")
    assert message.reply_stream == "queue:to_channels"
    unaddressed = salvage_for_apology(json.dumps({"chat_id": 5, "channel": "slack"}))
    assert unaddressed is not None and unaddressed.channel == "telegram"
