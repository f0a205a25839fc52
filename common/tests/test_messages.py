"""Message models and their derived ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    Usage,
    answer_message_id,
    conversation_key,
    fire_message_id,
    incoming_message_id,
)
from tests.tiers import examples


def test_incoming_id_is_stable_and_depends_on_bot_and_update() -> None:
    assert incoming_message_id(123, 7) == incoming_message_id(123, 7)
    assert incoming_message_id(123, 7) != incoming_message_id(123, 8)
    assert incoming_message_id(123, 7) != incoming_message_id(124, 7)
    assert incoming_message_id(123, 7).version == 5


def test_derived_ids_are_the_same_on_every_machine() -> None:
    # Fixed values: a change of namespace or format would make redeliveries look new.
    assert str(incoming_message_id(123, 7)) == str(incoming_message_id("123", 7))
    assert str(answer_message_id("00000000-0000-0000-0000-000000000001")) == str(
        answer_message_id(uuid.UUID(int=1))
    )


def test_answer_id_derives_from_incoming_id() -> None:
    incoming = uuid.uuid4()
    assert answer_message_id(incoming) == answer_message_id(str(incoming))
    assert answer_message_id(incoming) != answer_message_id(uuid.uuid4())


def test_fire_id_is_the_same_instant_in_any_timezone() -> None:
    utc = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    berlin = utc.astimezone(timezone(timedelta(hours=2)))
    assert fire_message_id("job-1", utc) == fire_message_id("job-1", berlin)
    assert fire_message_id("job-1", utc) != fire_message_id("job-1", utc + timedelta(days=1))
    with pytest.raises(ValueError):
        fire_message_id("job-1", datetime(2026, 1, 1))


def test_incoming_message_has_the_contract_fields() -> None:
    assert set(IncomingMessage.model_fields) == {
        "v",
        "message_id",
        "source",
        "reply_stream",
        "chat_id",
        "chat_type",
        "user_id",
        "telegram_user_id",
        "username",
        "first_name",
        "language_code",
        "text",
        "telegram_message_id",
        "sent_at",
        # forum topics, edits, files
        "message_thread_id",
        "edited",
        "attachments",
        # a Yes under a held tool call
        "confirmed",
        # several bots in one deployment
        "bot_id",
        # channels other than Telegram
        "channel",
        "channel_chat_id",
        "channel_thread_id",
        "channel_user_id",
        "channel_message_id",
        # the public API names the assistant that answers
        "assistant",
        # when it reached us: its answer's delivery is timed from it (the answer-time SLO)
        "received_at",
        # the trace the message belongs to
        "traceparent",
    }
    msg = IncomingMessage(message_id=uuid.uuid4(), chat_id=1, user_id=uuid.uuid4(), text="hi")
    assert (msg.v, msg.source, msg.reply_stream, msg.chat_type) == (
        1,
        "telegram",
        "queue:to_telegram",
        "private",
    )


def test_outgoing_message_has_the_contract_fields() -> None:
    assert set(OutgoingMessage.model_fields) == {
        "v",
        "message_id",
        "chat_id",
        "text",
        "kind",
        "correlation_id",
        "reply_to_telegram_message_id",
        "created_at",
        # buttons, forum topics, edits of sent messages, voice replies
        "buttons",
        "message_thread_id",
        "edit_telegram_message_id",
        "voice_blob_key",
        # several bots in one deployment
        "bot_id",
        # the business assistant asks for a phone number
        "request_phone",
        # a human operator: the operator chat's messages about a handoff
        "handoff_id",
        # channels other than Telegram
        "channel",
        "channel_chat_id",
        "channel_thread_id",
        "reply_to_channel_message_id",
        # the public API reports the tokens of the turn
        "usage",
        # a picture drawn on request, sent as a photo with the text
        "photo_blob_key",
        # the answer-time SLO: when the message reached us, and the model's share of the wait
        "received_at",
        "model_seconds",
        # the trace the message belongs to
        "traceparent",
    }


def test_an_old_entry_without_the_issue_19_fields_still_reads() -> None:
    old = {"v": 1, "message_id": str(uuid.uuid4()), "chat_id": 1, "text": "x"}
    message = OutgoingMessage.model_validate(old)
    assert (message.buttons, message.message_thread_id, message.voice_blob_key) == ([], None, None)
    assert message.request_phone is None
    incoming = IncomingMessage.model_validate({**old, "user_id": str(uuid.uuid4())})
    assert (incoming.attachments, incoming.edited) == ([], False)
    assert (message.bot_id, incoming.bot_id) == (None, None)
    assert (message.received_at, message.model_seconds, incoming.received_at) == (None, None, None)


def test_conversation_key_separates_groups_from_private_chats() -> None:
    user = uuid.uuid4()
    private = IncomingMessage(message_id=uuid.uuid4(), chat_id=5, user_id=user, text="x")
    group = private.model_copy(update={"chat_id": -100, "chat_type": "group"})
    assert private.conversation_key == str(user)
    assert group.conversation_key == "chat:-100"


def test_each_bot_keeps_its_conversations_apart() -> None:
    """The same person (and the same group) with two bots: two conversations, two threads."""
    user, shop, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    private = IncomingMessage(message_id=uuid.uuid4(), chat_id=5, user_id=user, text="x")
    with_shop = private.model_copy(update={"bot_id": shop})
    group = with_shop.model_copy(update={"chat_id": -100, "chat_type": "group"})
    keys = {
        private.conversation_key,
        with_shop.conversation_key,
        private.model_copy(update={"bot_id": other}).conversation_key,
        group.conversation_key,
        group.model_copy(update={"bot_id": None}).conversation_key,
    }
    assert len(keys) == 5
    assert with_shop.conversation_key == f"bot:{shop}:{user}"
    assert group.conversation_key == f"bot:{shop}:chat:-100"


def test_a_named_assistant_keeps_its_conversations_apart() -> None:
    user, shop = uuid.uuid4(), uuid.uuid4()
    private = IncomingMessage(message_id=uuid.uuid4(), chat_id=5, user_id=user, text="x")
    named = private.model_copy(update={"assistant": "lawyer"})
    assert named.conversation_key == f"assistant:lawyer:{user}"
    group = named.model_copy(update={"chat_id": -100, "chat_type": "group", "bot_id": shop})
    assert group.conversation_key == f"bot:{shop}:assistant:lawyer:chat:-100"
    with pytest.raises(ValidationError):
        private.model_validate({**private.model_dump(), "assistant": "x" * 256})


def test_usage_counts_tokens_in_openais_names_and_an_answer_without_it_still_reads() -> None:
    usage = Usage(prompt_tokens=120, completion_tokens=30)
    assert usage.total_tokens == 150
    answer = OutgoingMessage(message_id=uuid.uuid4(), chat_id=1, text="hi", usage=usage)
    assert OutgoingMessage.model_validate_json(answer.to_json()).usage == usage
    older = OutgoingMessage.model_validate_json(answer.model_dump_json(exclude={"usage"}))
    assert older.usage is None
    with pytest.raises(ValidationError):
        Usage(prompt_tokens=-1, completion_tokens=0)


def test_round_trip_through_json() -> None:
    msg = OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=1, text="hi", kind=OutgoingKind.NOTIFICATION
    )
    assert OutgoingMessage.model_validate_json(msg.to_json()) == msg


def test_unknown_version_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OutgoingMessage.model_validate(
            {"v": 2, "message_id": str(uuid.uuid4()), "chat_id": 1, "text": "x"}
        )


@settings(max_examples=examples(100))
@given(st.text(min_size=1, max_size=255), st.text(min_size=1, max_size=255))
def test_every_named_assistants_key_fits_a_thread_key_and_names_it_alone(
    name: str, other: str
) -> None:
    user, bot = uuid.uuid4(), uuid.uuid4()
    key = conversation_key(1, user, group=False, bot_id=bot, assistant=name)
    assert len(key) <= 255 and key.endswith(f":{user}")
    if name != other:
        assert key != conversation_key(1, user, group=False, bot_id=bot, assistant=other)
