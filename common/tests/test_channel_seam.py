"""The channel seam: messages name their channel and its ids, answers go back where the
message came from, and another channel's conversation never shares a Telegram chat's number."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.infrastructure.channels import (
    Channel,
    answer_stream,
    channel_chat_number,
    is_derived_chat,
)
from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingMessage,
    answer_address,
    channel_message_uuid,
)

OTHERS = [c for c in Channel if c is not Channel.TELEGRAM]
#: Telegram's chat ids: users and bots up to 52 bits, supergroups and channels -100….
TELEGRAM_CHATS = st.integers(min_value=-(10**13) - 10**12, max_value=(1 << 52) - 1)
CHANNEL_IDS = st.text(min_size=1, max_size=255)


def _incoming(**fields: object) -> IncomingMessage:
    return IncomingMessage.model_validate(
        {"message_id": uuid.uuid4(), "chat_id": 1, "user_id": uuid.uuid4(), "text": "hi"} | fields
    )


@settings(max_examples=200)
@given(channel=st.sampled_from(OTHERS), own=CHANNEL_IDS, group=st.booleans(), tg=TELEGRAM_CHATS)
def test_a_channel_conversation_never_has_a_telegram_chats_number(
    channel: Channel, own: str, group: bool, tg: int
) -> None:
    number = channel_chat_number(channel, own, group=group)
    assert number != tg
    assert is_derived_chat(number) and not is_derived_chat(tg)
    assert (number < 0) == group
    assert abs(number) < 1 << 63  # a Postgres bigint, as cron_jobs.chat_id is


def test_the_number_is_stable_and_names_channel_and_conversation() -> None:
    # Fixed: a change would move every stored reminder's conversation.
    assert channel_chat_number(Channel.WHATSAPP, "4915112345678") == channel_chat_number(
        Channel.WHATSAPP, "4915112345678"
    )
    assert channel_chat_number(Channel.WHATSAPP, "x") != channel_chat_number(Channel.SLACK, "x")
    assert channel_chat_number(Channel.SLACK, "C1", group=True) == -channel_chat_number(
        Channel.SLACK, "C1"
    )
    with pytest.raises(ValueError, match="Telegram"):
        channel_chat_number(Channel.TELEGRAM, "1")


def test_answers_go_to_the_stream_of_the_service_that_speaks_the_channel() -> None:
    assert answer_stream(Channel.TELEGRAM) == "queue:to_telegram"
    assert {answer_stream(c) for c in OTHERS} == {"queue:to_channels"}


@pytest.mark.parametrize("channel", OTHERS, ids=str)
def test_a_message_of_another_channel_needs_its_conversation(channel: Channel) -> None:
    with pytest.raises(ValidationError, match="channel_chat_id"):
        _incoming(channel=channel)
    with pytest.raises(ValidationError, match="channel_chat_id"):
        OutgoingMessage(message_id=uuid.uuid4(), chat_id=1, text="x", channel=channel)


def test_an_old_entry_is_telegrams() -> None:
    old = {"v": 1, "message_id": str(uuid.uuid4()), "chat_id": 1, "text": "x"}
    assert OutgoingMessage.model_validate(old).channel is Channel.TELEGRAM
    assert _incoming().channel is Channel.TELEGRAM


def test_an_answer_goes_back_to_the_conversation_and_thread_it_came_from() -> None:
    message = _incoming(
        channel="slack",
        source="slack",
        channel_chat_id="C024BE91L",
        channel_user_id="T1:U2",
        channel_thread_id="1700000000.000100",
        channel_message_id="1700000001.000200",
        reply_stream="queue:to_channels",
    )
    answer = OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=message.chat_id, text="ok", **answer_address(message)
    )
    assert (answer.channel, answer.channel_chat_id, answer.channel_thread_id) == (
        Channel.SLACK,
        "C024BE91L",
        "1700000000.000100",
    )
    assert answer.reply_to_channel_message_id == "1700000001.000200"
    again = OutgoingMessage.model_validate_json(answer.to_json())
    assert again == answer


@settings(max_examples=100)
@given(channel=st.sampled_from(OTHERS), account=st.text(max_size=40), own=st.text(max_size=200))
def test_a_redelivered_platform_message_is_the_same_message(
    channel: Channel, account: str, own: str
) -> None:
    first = channel_message_uuid(channel, account, own)
    assert channel_message_uuid(channel, account, own) == first
    assert channel_message_uuid(channel, account + "x", own) != first
