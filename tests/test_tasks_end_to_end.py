"""Tasks end to end: every service a real process, Telegram and the model the stand-ins
(scripted to call `tasks`). A task said in chat is stored with its deadline's reminder; the
reminder fires at the deadline through cron_service; /tasks lists the open ones by priority
with a ✓ each, and a ✓ completes its task once and cancels its reminder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.system import Person, System
from tests.test_buttons import answer_to, buttons_of, edited, tap


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


@pytest.mark.timeout(120)
async def test_a_task_said_in_chat_reminds_at_its_deadline_and_its_tick_completes_it(
    system: System,
) -> None:
    ann = Person.new("Ann")
    soon = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    system.llm.call(
        "tasks",
        {"action": "add", "title": "send the invoice", "deadline": soon.isoformat(),
         "priority": "high", "remind": True},
        contains="invoice",
    )  # fmt: skip
    system.llm.reply("Added: send the invoice, with a reminder.", contains="invoice")
    system.llm.call(
        "tasks",
        {"action": "add", "title": "book the dentist", "deadline": later.isoformat(),
         "remind": True},
        contains="dentist",
    )  # fmt: skip
    system.llm.reply("Added: book the dentist.", contains="dentist")

    await system.say(ann, "add a task: send the invoice, due in a moment, remind me")
    [added] = system.tool_results("invoice")
    assert added["title"] == "send the invoice"
    fired = await system.next_message(ann.id, after=0, containing="⏰", timeout=60)
    assert "send the invoice" in fired.text

    await system.say(ann, "and a task to book the dentist in three days")
    listing = await system.say(ann, "/tasks")
    assert listing.text.index("send the invoice") < listing.text.index("book the dentist")
    ticks = buttons_of(listing)
    assert [b["text"] for b in ticks] == ["✓ 1", "✓ 2"]

    first = tap(system, ann, listing, ticks[1])
    assert await answer_to(system, first) == "Done."
    shown = await edited(system, ann.id, listing.message_id, "Done:")
    done, _, still_open = shown.text.partition("\n")
    assert "book the dentist" in done and "book the dentist" not in still_open
    assert "send the invoice" in still_open
    assert [b["text"] for b in buttons_of(shown)] == ["✓ 1"]
