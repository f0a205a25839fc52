"""The language of a turn: this message, else the sender's recent ones, else the profile's,
else the app's (`language_code`)."""

from __future__ import annotations

import uuid

from assistant.src.assistants.language import turn_language
from common.infrastructure.queue_messages import ChatType, IncomingMessage
from common.infrastructure.wire import Message, TurnBackground, User

ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def message(text: str, *, group: bool = False, code: str | None = "en") -> IncomingMessage:
    return IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=-100 if group else 1,
        chat_type=ChatType.GROUP if group else ChatType.PRIVATE,
        user_id=ALICE,
        language_code=code,
        text=text,
    )


def start(*recent: Message) -> TurnBackground:
    return TurnBackground(thread=None, profile=None, recent=list(recent), memory=[])


def said(text: str, user: uuid.UUID = ALICE, role: str = "user") -> Message:
    fields = {"role": role, "content": text, "user_id": user, "id": 1, "thread_id": "t"}
    stored = {"conversation_key": "c", "created_at": "2026-01-01T00:00:00+00:00"}
    return Message.model_validate(dict.fromkeys(Message.model_fields) | stored | fields)


def profile(language: str) -> User:
    at = "2026-01-01T00:00:00+00:00"
    fields = {"id": BOB, "telegram_id": 1, "blocked": False, "created_at": at, "updated_at": at,
              "voice_replies": False, "event_alert_minutes": 0}  # fmt: skip
    return User.model_validate(dict.fromkeys(User.model_fields) | fields | {"language": language})


def test_the_message_itself_decides_first() -> None:
    assert turn_language(message("Какая погода?"), profile("en"), start()) == "ru"


def test_a_message_without_a_signal_takes_the_senders_newest_that_has_one() -> None:
    history = start(said("hello there"), said("напомни завтра"), said("Ответ", role="assistant"))
    assert turn_language(message("ok"), None, history) == "ru"


def test_in_a_group_other_members_messages_do_not_count() -> None:
    history = start(said("what's the weather"), said("какая погода в Москве", user=BOB))
    assert turn_language(message("👍", group=True), None, history) == "en"


def test_without_any_signal_the_profile_then_the_app_decides() -> None:
    assert turn_language(message("ok", code="en"), profile("de"), start()) == "de"
    assert turn_language(message("ok", code="ru"), None, None) == "ru"
    assert turn_language(message("ok", code=None), None, None) is None
