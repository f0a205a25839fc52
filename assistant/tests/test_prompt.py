"""The system prompt gives the user's local time and asks for ISO local date-times in tool
arguments, with an example worked out from that time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.src.assistants.prompt import system_prompt
from assistant.src.tools.base import Actor


def test_the_prompt_asks_for_iso_local_date_times_from_the_users_time() -> None:
    actor = Actor("u1", "u1", 1, "America/Los_Angeles", language="en")
    now = datetime(2025, 12, 31, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    prompt = system_prompt("Be brief.", actor, now, group_authors=False)
    assert "Wednesday, 31 December 2025, 23:30 (America/Los_Angeles, UTC-08:00)" in prompt
    assert "ISO 8601 local date-times" in prompt
    assert "2026-01-01T09:00 for tomorrow at 09:00" in prompt
    assert "ask" in prompt.split("ISO 8601", 1)[1]
