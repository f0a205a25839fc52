"""Buttons end to end: every service a real process, Telegram and the model the stand-ins.
A person taps a button of a message the bot sent (a callback query update carrying the
button's data, as Telegram sends it); the bot answers the query, acts once, and edits the
message. Times are kept short by moving a snoozed reminder's run_at, not by waiting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType
from sandbox import telegram_updates as build
from sandbox.telegram_api import SentMessage
from tests.system import DEFAULT_MODEL, FALLBACK_MODEL, Person, System
from tests.waiting import until

Json = dict[str, Any]


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


def buttons_of(message: SentMessage) -> list[Json]:
    """The inline keyboard's buttons as Telegram holds them now, row after row."""
    markup = message.reply_markup or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def labelled(message: SentMessage, label: str) -> Json:
    found = [b for b in buttons_of(message) if label in b["text"]]
    assert found, f"no button {label!r} in {buttons_of(message)}"
    return found[0]


def tap(system: System, person: Person, message: SentMessage, button: Json) -> str:
    """`person` taps `button` under `message`; the callback query's id."""
    query_id = uuid.uuid4().hex
    bot = system.telegram.api.bot
    query = {
        "id": query_id,
        "from": person.telegram,
        "message": message.as_message(bot),
        "data": button["callback_data"],
        "chat_instance": str(message.chat_id),
    }
    system.telegram.inject({"callback_query": query})
    return query_id


async def answer_to(system: System, query_id: str) -> str | None:
    """How the bot answered the callback query (the notice shown to the person)."""
    found = await until(
        lambda: [a for a in system.telegram.api.callback_answers if a["id"] == query_id]
    )
    text: str | None = found[0].get("text")
    return text


async def edited(
    system: System, chat_id: int, message_id: int, containing: str, timeout: float = 20
) -> SentMessage:
    """The message once its text holds `containing` (the bot edited it)."""

    def now() -> SentMessage | None:
        for message in system.sent_to(chat_id):
            if message.message_id == message_id and containing in message.text:
                return message
        return None

    found: SentMessage = await until(now, timeout)
    return found


def rest_client(system: System) -> RestClient:
    return RestClient(system.stack.url("rest_service"), system.secrets["SERVICE_API_TOKEN"])


async def reminder_for(
    system: System,
    person: Person,
    text: str,
    in_seconds: float,
    chat_id: int | None = None,
    **fields: Any,
) -> CronJob:
    """A reminder made over rest_service, as the assistant's tool makes one (in `person`'s
    private chat, or in the group `chat_id`)."""
    await system.say(person, "/start")
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=in_seconds)
    async with rest_client(system) as rest:
        user = await rest.get_user_by_telegram(person.id)
        return await rest.create_cron_job(
            name=text, chat_id=chat_id or person.id, user_id=user.id, text=text, run_at=due,
            **fields,
        )  # fmt: skip


async def later_reminder_fired(system: System, person: Person) -> None:
    """Until a reminder made now, due in two seconds, reached `person`: whatever cron_service
    still owed before it has been sent by then."""
    before = len(system.sent_to(person.id))
    await reminder_for(system, person, "later", in_seconds=2)
    await system.next_message(person.id, after=before, containing="⏰ later")


async def reminders_of(system: System, person: Person) -> list[CronJob]:
    async with rest_client(system) as rest:
        user = await rest.get_user_by_telegram(person.id)
        return await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)


@pytest.mark.timeout(120)
async def test_snooze_from_a_fired_reminder_fires_again_at_the_new_time_once(
    system: System,
) -> None:
    ola = Person.new("Ola")
    job = await reminder_for(system, ola, "feed the cat", in_seconds=2)
    fired = await system.next_message(ola.id, after=0, containing="⏰ feed the cat")
    labels = [b["text"] for b in buttons_of(fired)]
    assert labels == ["⏰ 10 min", "⏰ 1 h", "⏰ Tomorrow", "✅ Done"]

    tapped_at = datetime.now(UTC)
    first = tap(system, ola, fired, labelled(fired, "10 min"))
    second = tap(system, ola, fired, labelled(fired, "1 h"))  # a second tap, another button
    assert await answer_to(system, first) == "Snoozed."
    assert await answer_to(system, second) == "Already done."
    shown = await edited(system, ola.id, fired.message_id, "remind you again")
    assert buttons_of(shown) == []

    [follow_up] = [j for j in await reminders_of(system, ola) if j.id != job.id]
    assert follow_up.run_at is not None and follow_up.status == CronJobStatus.active
    delay = follow_up.run_at - tapped_at
    assert timedelta(minutes=9, seconds=55) <= delay <= timedelta(minutes=10, seconds=5)

    # Ten minutes are a test's lifetime: the snooze is brought forward to a few seconds.
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    async with rest_client(system) as rest:
        await rest.update_cron_job(follow_up.id, run_at=due)
    after = len(system.sent_to(ola.id))
    again = await system.next_message(ola.id, after=after, containing="⏰ feed the cat")
    assert again.wall >= due.timestamp() - 0.5
    assert await until(lambda: len(system.reminder_runs(ola)) == 2)
    await later_reminder_fired(system, ola)  # a second fire would have come before
    fires = [m for m in system.sent_to(ola.id) if m.text.startswith("⏰ feed the cat")]
    assert len(fires) == 2  # the snooze fired once


async def test_cancel_from_the_reminders_list(system: System) -> None:
    ivo = Person.new("Ivo")
    first = await reminder_for(system, ivo, "dentist", in_seconds=3600)
    second = await reminder_for(system, ivo, "standup", in_seconds=7200)
    listing = await system.say(ivo, "/reminders")
    assert [b["text"] for b in buttons_of(listing)] == ["✖ 1. dentist", "✖ 2. standup"]

    query = tap(system, ivo, listing, labelled(listing, "standup"))
    assert await answer_to(system, query) == "Reminder cancelled."
    shown = await edited(system, ivo.id, listing.message_id, "dentist")
    await until(lambda: "standup" not in shown.text)
    assert [b["text"] for b in buttons_of(shown)] == ["✖ 1. dentist"]
    stored = {j.id: j.status for j in await reminders_of(system, ivo)}
    assert stored == {first.id: CronJobStatus.active, second.id: CronJobStatus.cancelled}


async def test_model_picker_sets_the_tapped_model(system: System) -> None:
    mia = Person.new("Mia")
    picker = await system.say(mia, "/model")
    labels = [b["text"] for b in buttons_of(picker)]
    assert any(DEFAULT_MODEL in label and label.startswith("✓") for label in labels), labels
    fallback = next(b for b in buttons_of(picker) if FALLBACK_MODEL in b["text"])

    query = tap(system, mia, picker, fallback)
    assert await answer_to(system, query) == "Model changed."
    shown = await edited(system, mia.id, picker.message_id, "from now on")
    assert buttons_of(shown) == []
    row = system.user_row(mia)
    assert row is not None and row["preferred_model"] == FALLBACK_MODEL
    again = await system.say(mia, "/model")
    assert any(FALLBACK_MODEL in b["text"] and b["text"].startswith("✓") for b in buttons_of(again))


async def test_forget_with_no_then_with_yes(system: System) -> None:
    uma = Person.new("Uma")
    await system.say(uma, "/start")
    question = await system.say(uma, "/forget")
    query = tap(system, uma, question, labelled(question, "No"))
    assert await answer_to(system, query) == "Nothing deleted."
    await edited(system, uma.id, question.message_id, "Nothing was deleted")
    assert system.user_row(uma) is not None

    question = await system.say(uma, "/forget")
    query = tap(system, uma, question, labelled(question, "Yes"))
    assert await answer_to(system, query) == "Forgotten."
    shown = await edited(system, uma.id, question.message_id, "forgotten everything")
    assert buttons_of(shown) == []
    assert system.user_row(uma) is None


async def test_a_double_tapped_cancel_under_the_confirmation_acts_once(system: System) -> None:
    eva = Person.new("Eva")
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    create = {"action": "create", "text": "water the plants", "when": due.isoformat()}
    system.llm.call("reminder", create, contains="remind me")
    confirmation = await system.say(eva, "remind me to water the plants")
    assert "Reminder set" in confirmation.text
    cancel = labelled(confirmation, "Cancel")

    queries = [tap(system, eva, confirmation, cancel) for _ in range(2)]
    notices = sorted([await answer_to(system, q) or "" for q in queries])
    assert notices == ["Already done.", "Reminder cancelled."]
    shown = await edited(system, eva.id, confirmation.message_id, "Cancelled.")
    assert buttons_of(shown) == []
    [job] = await reminders_of(system, eva)
    assert job.status == CronJobStatus.cancelled


async def test_in_a_group_a_reminders_buttons_are_its_owners(system: System) -> None:
    ada, ben = Person.new("Ada"), Person.new("Ben")
    group = build.group_chat(-1_000_000_000_000 - uuid.uuid4().int % 10**9)
    await system.say(ben, "/start")
    await reminder_for(system, ada, "team sync", in_seconds=2, chat_id=group["id"])
    fired = await system.next_message(group["id"], after=0, containing="⏰ team sync")

    query = tap(system, ben, fired, labelled(fired, "Done"))
    assert await answer_to(system, query) == "This button is for someone else."
    query = tap(system, ada, fired, labelled(fired, "Done"))  # the owner's tap still acts
    assert await answer_to(system, query) == "Done."
    shown = await edited(system, group["id"], fired.message_id, "✅ Done.")
    assert buttons_of(shown) == []


@pytest.mark.timeout(120)
async def test_done_under_an_urgent_reminder_stops_its_repeats_and_says_so(
    system: System,
) -> None:
    """Its first repeat is a minute away and Done comes before it (the repeats, and that none
    follows a Done, are cron_service's tests, on a fast clock)."""
    uma = Person.new("Uma")
    job = await reminder_for(
        system, uma, "take the pills", in_seconds=2, urgent=True, repeat_every_minutes=1
    )
    fired = await system.next_message(uma.id, after=0, containing="🚨 Urgent: take the pills")
    assert [b["text"] for b in buttons_of(fired)][-1] == "✅ Done"

    query = tap(system, uma, fired, labelled(fired, "Done"))
    assert await answer_to(system, query) == "Done: no more repeats."
    shown = await edited(system, uma.id, fired.message_id, "✅ Done: no more repeats.")
    assert buttons_of(shown) == []
    [stopped] = await reminders_of(system, uma)
    assert (stopped.status, stopped.acknowledged_for) == (CronJobStatus.done, job.run_at)
