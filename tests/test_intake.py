"""What people send besides plain text, end to end (every service a real process, the
stand-ins around them): an edited message answered again and saying so, a forum topic's
answer in the topic, a voice message fetched into the blob store, transcribed and answered,
and one too long refused before anything is fetched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import telegram_updates as build
from tests.media_files import speech_wav
from tests.system import Person, System


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


def edit_of(update: dict[str, Any], message_id: int, text: str) -> dict[str, Any]:
    body = dict(update["message"], message_id=message_id, text=text, edit_date=int(time.time()))
    return {"edited_message": body}


async def test_an_edited_message_is_answered_again_and_says_so(system: System) -> None:
    eda = Person.new("Eda")
    chat = build.private_chat(eda.telegram)
    original = build.message(chat, eda.telegram, text="tell me about Berlni")
    original["message"]["date"] = int(time.time())  # an edit carries the original's date
    system.telegram.inject(original)
    first = await system.next_message(eda.id, after=0)
    [asked] = system.requests_about("Berlni")
    message_id = 1  # the chat's first message (the stand-in numbers each chat's messages)
    system.telegram.inject(edit_of(original, message_id, "tell me about Berlin"))
    again = await system.next_message(eda.id, after=1)
    assert "edited" in again.text.split("\n", 1)[0]
    assert "edited" not in first.text
    assert system.requests_about("about Berlin") and asked


async def test_the_answer_to_a_forum_topic_message_goes_into_the_topic(system: System) -> None:
    eda = Person.new("Eda")
    forum = build.group_chat(-1_000_000_000_000 - eda.id % 10**9, "Forum")
    update = build.mention(forum, eda.telegram, system.bot_username, after=" hello topic")
    update["message"].update(message_thread_id=42, is_topic_message=True)
    system.telegram.inject(update)
    answer = await system.next_message(forum["id"], after=0)
    assert answer.message_thread_id == 42
    assert answer.reply_to_message_id is not None


def voice_from(system: System, person: Person, audio: bytes, duration: int) -> dict[str, Any]:
    """A voice message of `person` whose file the Telegram stand-in holds."""
    ref = system.telegram.api.register_file(audio, kind="voice", mime_type="audio/ogg")
    voice = {"file_id": ref["file_id"], "file_unique_id": ref["file_unique_id"],
             "duration": duration, "mime_type": "audio/ogg", "file_size": len(audio)}  # fmt: skip
    return build.message(build.private_chat(person.telegram), person.telegram, voice=voice)


async def test_a_voice_message_is_fetched_transcribed_and_answered(system: System) -> None:
    vera = Person.new("Vera")
    words = "what is the capital of France"
    system.telegram.inject(voice_from(system, vera, speech_wav(words), duration=2))
    answer = await system.next_message(vera.id, after=0, timeout=60)
    assert words in answer.text  # quoted back, then answered
    assert system.requests_about(words)
    assert system.telegram.api.files.downloads


async def test_a_voice_message_too_long_is_refused_politely(system: System) -> None:
    vera = Person.new("Vera", language="ru")
    system.telegram.inject(voice_from(system, vera, speech_wav("long"), duration=3600))
    answer = await system.next_message(vera.id, after=0)
    assert "слишком длинное" in answer.text
    assert not system.requests_about("long")
