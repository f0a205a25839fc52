"""The system prompt gives the user's local time and asks for ISO local date-times in tool
arguments, with an example worked out from that time."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.src.assistants.prompt import (
    FACTS_HEADER,
    facts_section,
    private_facts,
    system_prompt,
)
from assistant.src.tools.base import Actor
from common.infrastructure.wire import ProfileFact, TurnBackground


def test_the_prompt_asks_for_iso_local_date_times_from_the_users_time() -> None:
    actor = Actor("u1", "u1", 1, "America/Los_Angeles", language="en")
    now = datetime(2025, 12, 31, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    prompt = system_prompt("Be brief.", actor, now, group_authors=False)
    assert "Wednesday, 31 December 2025, 23:30 (America/Los_Angeles, UTC-08:00)" in prompt
    assert "ISO 8601 local date-times" in prompt
    assert "2026-01-01T09:00 for tomorrow at 09:00" in prompt
    assert "ask" in prompt.split("ISO 8601", 1)[1]


NOW = datetime(2025, 6, 10, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ANYA = uuid.UUID(int=1)


def fact(text: str, user_id: uuid.UUID = ANYA) -> ProfileFact:
    return ProfileFact(id=uuid.uuid4(), user_id=user_id, text=text, created_at=NOW)


def test_a_private_prompt_names_the_user_and_gives_their_facts_only() -> None:
    actor = Actor(str(ANYA), "c", 1, "Europe/Berlin", language="ru", name="Anya", username="anya")
    context = TurnBackground(
        thread=None, profile=None, recent=[], memory=[],
        facts=[fact("I have a cat named Tom"), fact("I am Boris", uuid.UUID(int=2))],
    )  # fmt: skip
    facts = private_facts(actor, context)
    assert facts == ["I have a cat named Tom"]
    prompt = system_prompt(None, actor, NOW, group_authors=True, facts=facts)
    assert prompt.startswith("You are a helpful assistant.")
    assert "The user is Anya (@anya) and writes in language 'ru'." in prompt
    assert f"{FACTS_HEADER}\n- I have a cat named Tom" in prompt
    assert "group chat" not in prompt


def test_a_group_prompt_shows_no_ones_facts_and_says_who_is_answered() -> None:
    actor = Actor(str(ANYA), "g", -5, "Europe/Berlin", name="Anya", is_group=True)
    context = TurnBackground(
        thread=None, profile=None, recent=[], memory=[], facts=[fact("secret")]
    )
    assert private_facts(actor, context) == []
    prompt = system_prompt("Be brief.", actor, NOW, group_authors=True, facts=["secret"])
    assert "secret" not in prompt and FACTS_HEADER not in prompt
    assert "This is a group chat" in prompt and "You are answering Anya." in prompt
    assert "group chat" not in system_prompt("Be brief.", actor, NOW, group_authors=False)


def test_the_newest_facts_past_the_sections_characters_are_left_out() -> None:
    facts = ["a" * 50, "b" * 50, "c" * 50]
    room = len(FACTS_HEADER) + 2 * (len("- ") + 50 + 1)
    assert facts_section(facts, room) == [FACTS_HEADER, "- " + "a" * 50, "- " + "b" * 50]
    assert facts_section(facts, len(FACTS_HEADER) + 10) == []
    assert facts_section([]) == []
