"""What people send besides plain text, end to end (every service a real process, the
stand-ins around them): an edited message answered again and saying so, a forum topic's
answer in the topic, a voice message fetched into the blob store and answered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import telegram_updates as build
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
