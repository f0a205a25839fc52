"""Tasks end to end: every service a real process, Telegram and the model the stand-ins
(scripted to call `tasks`). A task said in chat is stored with its deadline's reminder; the
reminder fires at the deadline through cron_service; /tasks lists the open ones by priority
with a ✓ each, and a ✓ completes its task once and cancels its reminder. With Google Tasks
sync turned on, both lists stay in step."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
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


@pytest.mark.e2e
@pytest.mark.timeout(180)
async def test_google_tasks_sync_turned_on_in_chat_keeps_both_lists_in_step(
    system: System,
) -> None:
    """/tasks google gives the link; consent at Google and /calendar confirm; a task said in
    chat appears in Google Tasks; one completed in Google is done here (gone from /tasks)."""
    ann, email = Person.new("Ann"), f"ann-{uuid.uuid4().hex[:6]}@example.com"
    offer = await system.say(ann, "/tasks google")
    link = system.link_to(offer, system.google.url)
    before = len(system.sent_to(ann.id))
    assert (await system.consent(link, email)).status_code == 200
    await system.next_message(ann.id, after=before, containing="/calendar confirm")
    await system.say(ann, "/calendar confirm")
    on = await system.say(ann, "/tasks google")
    assert "Google Tasks sync is on" in on.text, on.text

    system.llm.call("tasks", {"action": "add", "title": "send the invoice"}, contains="invoice")
    system.llm.reply("Added: send the invoice.", contains="invoice")
    await system.say(ann, "add a task: send the invoice")
    [added] = system.tool_results("invoice")
    assert added["title"] == "send the invoice" and added["google_tasks"] == "in step"
    async with httpx.AsyncClient(base_url=system.google.url) as google:
        there = {t["title"]: t for t in (await google.get(f"/_sandbox/tasks/{email}")).json()}
        assert there["send the invoice"]["status"] == "needsAction"
        await google.post(f"/_sandbox/tasks/{email}", json={"title": "water the plants"})
        invoice = there["send the invoice"]["id"]
        completed = await google.patch(
            f"/_sandbox/tasks/{email}/{invoice}", json={"status": "completed"}
        )
        assert completed.status_code == 200

    listing = await system.say(ann, "/tasks")

    assert "water the plants" in listing.text and "send the invoice" not in listing.text
    assert [b["text"] for b in buttons_of(listing)] == ["✓ 1"]
    rows = system.query(
        "SELECT t.title, t.status FROM tasks t JOIN users u ON u.id = t.user_id "
        "WHERE u.telegram_id = %s ORDER BY t.title",
        ann.id,
    )
    assert rows == [("send the invoice", "done"), ("water the plants", "open")]
