"""The design's scenarios end to end: a user's update goes into the Telegram stand-in, the
bot's sendMessage comes out, and in between every service is a real process (one system
shared by the module; each test has people and chats of its own). The LLM stand-in is
scripted per test where the model must call a tool; its default rules answer the rest
(an echo, or the tool results put in words).

Each scenario where a tool is called runs twice: with the arguments as scripted (`exact`),
and as real models write them (`realistic`: `"action": "List"`, `"minutes": "1"`, nulls,
unknown fields, the time as local ISO, with an offset, `Z`, or "in 6 seconds"; see
`sandbox/model_arguments.py`). Both must give the user the same result.

A representative few (a message answered, a calendar read, a reminder fired, a program's
message through the public API) run on the system in one process too (`IN_BOTH_MODES`).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox import telegram_updates as build
from tests.system import DEFAULT_MODEL, IN_BOTH_MODES, Person, System, parametrize_modes
from tests.waiting import until

TOKYO = ZoneInfo("Asia/Tokyo")
#: The events `seed_tomorrow` puts in a calendar.
SEEDED = ("Berlin standup", "Dentist", "Day off", "Masha")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_modes(metafunc)


@pytest.fixture
def style() -> str:
    """How the model writes tool arguments; `WITH_REAL_ARGUMENTS` runs both styles."""
    return "exact"


#: Run a scenario with the arguments as scripted and as real models write them.
WITH_REAL_ARGUMENTS = pytest.mark.parametrize("style", ["exact", "realistic"])


@pytest.fixture
def system(whole_system: System, style: str) -> Iterator[System]:
    """The module's system, the model's script and records fresh for this test."""
    whole_system.llm.reset()
    whole_system.llm.argument_style = style
    yield whole_system
    whole_system.llm.reset()
    whole_system.llm.argument_style = "exact"


def seed_tomorrow(system: System, email: str) -> str:
    """Tomorrow (Tokyo's): a meeting written in Berlin time, one in Tokyo's, an all-day
    event and a birthday (the kinds of event the design names)."""
    day = datetime.now(TOKYO).date() + timedelta(days=1)
    iso, next_day = day.isoformat(), (day + timedelta(days=1)).isoformat()
    born = day.replace(year=1990).isoformat()  # never 29 February: Tokyo's tomorrow is known
    system.google.state.seed(
        email,
        [
            {
                "summary": "Berlin standup",
                "start": {"dateTime": f"{iso}T09:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": f"{iso}T09:30:00", "timeZone": "Europe/Berlin"},
            },
            {
                "summary": "Dentist",
                "start": {"dateTime": f"{iso}T11:00:00+09:00"},
                "end": {"dateTime": f"{iso}T12:00:00+09:00"},
            },
            {"summary": "Day off", "start": {"date": iso}, "end": {"date": next_day}},
            {
                "summary": "Masha",
                "eventType": "birthday",
                "start": {"date": born},
                "end": {"date": (day.replace(year=1990) + timedelta(days=1)).isoformat()},
                "recurrence": ["RRULE:FREQ=YEARLY"],
            },
        ],
    )
    return iso


async def connect_calendar(system: System, person: Person, email: str) -> None:
    """/calendar in the private chat, the link, consent at Google, the bot's question, the
    owner's `/calendar confirm`, "connected" in Telegram."""
    offer = await system.say(person, "/calendar")
    link = system.link_to(offer, system.google.url)
    before = len(system.sent_to(person.id))
    assert (await system.consent(link, email)).status_code == 200
    await system.next_message(person.id, after=before, containing="/calendar confirm")
    confirmed = await system.say(person, "/calendar confirm")
    assert "Google Calendar connected" in confirmed.text, confirmed.text


@IN_BOTH_MODES
@WITH_REAL_ARGUMENTS
async def test_scenario_1_calendar_link_consent_connected_then_events_in_users_zone(
    system: System,
) -> None:
    """The design notes' scenario 1, as its log shows it: in Russian."""
    kenji, email = Person.new("Kenji", language="ru"), f"kenji-{uuid.uuid4().hex[:6]}@example.com"
    assert "Asia/Tokyo" in (await system.say(kenji, "/timezone Asia/Tokyo")).text
    question = "Хай, что у меня запланировано в календаре?"
    system.llm.call("calendar", {"action": "list"}, contains="запланировано")

    offer = await system.say(kenji, question)

    link = system.link_to(offer, system.google.url)
    before = len(system.sent_to(kenji.id))
    assert (await system.consent(link, email)).status_code == 200
    asked = await system.next_message(kenji.id, after=before, containing="/calendar confirm")
    assert email in asked.text and "Подключить" in asked.text  # the owner is asked first
    connected = await system.say(kenji, "/calendar confirm")
    assert email in connected.text and "подключён" in connected.text

    day = seed_tomorrow(system, email)
    system.llm.call("calendar", {"action": "list"}, contains="запланировано")
    answer = await system.say(kenji, question)

    [listed] = system.tool_results(question)
    assert listed["timezone"] == "Asia/Tokyo"
    events = {e["summary"]: e for e in listed["events"]}
    assert events["Dentist"]["start"] == f"{day}T11:00:00+09:00"
    # 09:00 in Berlin is 17:00 in Tokyo in winter, 16:00 in summer.
    standup = events["Berlin standup"]["start"]
    assert standup in (f"{day}T17:00:00+09:00", f"{day}T16:00:00+09:00")
    assert (events["Day off"]["kind"], events["Masha"]["kind"]) == ("all_day", "birthday")
    assert sorted(events) == sorted(SEEDED)
    assert [event for event in SEEDED if event in answer.text] == list(SEEDED)
    assert "11:00" in answer.text and standup[11:16] in answer.text


@WITH_REAL_ARGUMENTS
@pytest.mark.slow
@pytest.mark.timeout(150)  # the shortest snooze is a minute
async def test_scenario_2_reminder_arrives_on_time_and_snooze_brings_it_back(
    system: System, style: str
) -> None:
    mira = Person.new("Mira")
    await reminder_arrives_on_time(system, mira)

    system.llm.call("reminder", {"action": "snooze", "minutes": 1}, contains="snooze it")
    snoozed = await system.say(mira, "snooze it")

    [result] = system.tool_results("snooze it")
    assert result["status"] == "snoozed" and "remind you again" in snoozed.text
    # "minutes": "1" is a minute in the realistic style too; the fire after it is the exact run's
    [(run_at,)] = system.query(
        "SELECT j.run_at FROM cron_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.telegram_id = %s AND j.status = 'active'",
        mira.id,
    )
    assert 50 <= run_at.timestamp() - snoozed.wall <= 61
    if style == "realistic":
        return
    with cron_clock_reading(system, run_at - timedelta(seconds=3)):
        await system.next_message(
            mira.id, after=len(system.sent_to(mira.id)), containing="⏰ stretch your legs"
        )
        assert await until(lambda: len(system.reminder_runs(mira)) == 2)
    assert system.reminder_runs(mira) == ["on_time", "on_time"]
    assert system.query(
        "SELECT max(r.scheduled_for) FROM cron_job_runs r JOIN cron_jobs j ON j.id = r.job_id "
        "JOIN users u ON u.id = j.user_id WHERE u.telegram_id = %s",
        mira.id,
    ) == [(run_at,)]


async def reminder_arrives_on_time(system: System, person: Person) -> None:
    """`person` asks for a reminder in six seconds: set, then fired on time, recorded so."""
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    create = {"action": "create", "text": "stretch your legs", "when": due.isoformat()}
    system.llm.call("reminder", create, contains="remind me")

    confirmation = await system.say(person, "remind me to stretch your legs in a few seconds")

    assert "Reminder set" in confirmation.text and confirmation.wall < due.timestamp()
    fired = await system.next_message(
        person.id, after=len(system.sent_to(person.id)), containing="⏰ stretch your legs"
    )
    assert due.timestamp() - 0.5 <= fired.wall <= due.timestamp() + 5
    assert await until(lambda: system.reminder_runs(person)) == ["on_time"]


@IN_BOTH_MODES
async def test_a_reminder_asked_for_in_a_chat_arrives_on_time(system: System) -> None:
    await reminder_arrives_on_time(system, Person.new("Rosa"))


@IN_BOTH_MODES
async def test_a_program_asks_through_the_public_api_and_gets_the_answer(system: System) -> None:
    async with system.admin() as admin:
        created = await admin.post("/api/api-clients", json={"name": f"p-{uuid.uuid4().hex[:6]}"})
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    body = {"messages": [{"role": "user", "content": "hello from a program"}], "user": "ada"}
    async with httpx.AsyncClient(base_url=system.stack.url("channels"), timeout=30) as api:
        answer = await api.post("/v1/chat/completions", json=body, headers=key)
    assert answer.status_code == 200, answer.text
    assert "hello from a program" in answer.json()["choices"][0]["message"]["content"]


@contextlib.contextmanager
def cron_clock_reading(system: System, start: datetime) -> Iterator[None]:
    """cron_service started again on a clock that reads `start` (a minute's wait in seconds),
    and on the real clock again after."""
    cron = system.stack["cron_service"]
    real = cron.env
    cron.stop()
    cron.env = {**real, "CRON_TEST_CLOCK_START": start.isoformat()}
    try:
        cron.start(system.stack.workdir)
        yield
    finally:
        cron.stop()
        cron.env = real
        cron.start(system.stack.workdir)


@IN_BOTH_MODES
async def test_scenario_3_new_instructions_reach_the_next_message_without_a_restart(
    system: System,
) -> None:
    otto, assistant = Person.new("Otto"), system.stack["assistant"].proc
    assert assistant is not None
    await system.say(otto, "hello before the change")
    before = system.request_about("hello before the change").system_text
    assert "personal secretary in Telegram" in before and "Jeeves" not in before

    async with system.admin() as admin:
        [secretary] = [a for a in (await admin.get("/api/assistants/")).json() if a["is_secretary"]]
        changed = secretary["instructions"] + "\n\nSign every answer as Jeeves."
        path = f"/api/assistants/{secretary['id']}"
        assert (await admin.put(path, json={"instructions": changed})).status_code == 200
        try:
            await system.assistant_has_latest_config()  # live, from config:updated
            system.llm.reply("At your service. — Jeeves", contains="who are you")
            answer = await system.say(otto, "who are you?")
        finally:
            await admin.put(path, json={"instructions": secretary["instructions"]})

    assert answer.text == "At your service. — Jeeves"
    assert "Sign every answer as Jeeves." in system.request_about("who are you").system_text
    assert assistant.poll() is None and system.stack["assistant"].proc is assistant


@WITH_REAL_ARGUMENTS
async def test_scenario_4_a_group_talks_to_the_bot_and_never_sees_a_members_calendar(
    system: System,
) -> None:
    anna, boris = Person.new("Anna"), Person.new("Boris")
    email = f"anna-{uuid.uuid4().hex[:6]}@example.com"
    await connect_calendar(system, anna, email)
    seed_tomorrow(system, email)
    group = build.group_chat(-1_000_000_000_000 - anna.id % 1_000_000, "Team")
    lists_before = len(system.google.state.operations("events.list"))

    weather = await system.mention(boris, group, "what's the weather in Berlin?")
    assert weather.reply_to_message_id is not None and "Berlin" in weather.text
    assert system.open_meteo.hits["forecast"] >= 1
    system.llm.call("calendar", {"action": "list"}, contains="my calendar")
    calendar = await system.mention(anna, group, "what's on my calendar this week?")
    refusal = await system.say(anna, "/calendar", group=group)

    said = system.request_about("what's on my calendar").messages
    assert {"role": "user", "content": "Boris: what's the weather in Berlin?"} in said
    assert {"role": "user", "content": "Anna: what's on my calendar this week?"} in said
    assert [r["status"] for r in system.tool_results("on my calendar")] == ["private_chat_required"]
    assert "Calendars are private" in calendar.text
    assert "Calendars are private" in refusal.text
    for message in system.sent_to(group["id"]):
        assert not [event for event in SEEDED if event in message.text]
        urls = [e.get("url", "") for e in message.entities]
        assert not [u for u in [message.text, *urls] if system.google.url in u]
    assert len(system.google.state.operations("events.list")) == lists_before

    system.llm.call("calendar", {"action": "list"}, contains="my calendar")
    private = await system.say(anna, "what's on my calendar this week?")
    assert "Dentist" in private.text  # connected all along: the group was the reason


async def add_model(admin: httpx.AsyncClient, name: str, **fields: object) -> str:
    """A model on the seeded provider (the LLM stand-in); its id."""
    [provider] = (await admin.get("/api/llm-providers/")).json()
    created = await admin.post(
        "/api/llm-models/",
        json={"provider_id": provider["id"], "provider_model_name": name, **fields},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_scenario_5_model_command_switches_the_model_the_llm_is_asked_for(
    system: System,
) -> None:
    lena = Person.new("Lena")
    async with system.admin() as admin:
        await add_model(admin, "sandbox-smart", display_name="Sandbox Smart")
    await system.say(lena, "hello on the default model")
    assert system.request_about("hello on the default model").model == DEFAULT_MODEL

    listing = await system.say(lena, "/model")
    chosen = await system.say(lena, "/model sandbox-smart")
    system.llm.reply("Smart answer.", contains="which model", model="sandbox-smart")
    answer = await system.say(lena, "which model are you?")

    assert "sandbox-smart" in listing.text and DEFAULT_MODEL in listing.text
    assert "Sandbox Smart" in chosen.text
    assert answer.text == "Smart answer."
    assert system.request_about("which model are you?").model == "sandbox-smart"
    assert (system.user_row(lena) or {}).get("preferred_model") == "sandbox-smart"


def rows_mentioning(system: System, needles: list[str]) -> dict[str, int]:
    """Per table of the schema, how many rows mention any of `needles` anywhere."""
    tables = [
        t for (t,) in system.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    found: dict[str, int] = {}
    for table in tables:
        clauses = " OR ".join("t::text LIKE %s" for _ in needles)
        [(count,)] = system.query(
            f'SELECT count(*) FROM "{table}" t WHERE {clauses}', *(f"%{n}%" for n in needles)
        )
        if count:
            found[table] = count
    return found


@WITH_REAL_ARGUMENTS
async def test_scenario_6_forget_leaves_nothing_of_the_user_in_postgres(system: System) -> None:
    fiona, email = Person.new("Fiona"), f"fiona-{uuid.uuid4().hex[:6]}@example.com"
    group = build.group_chat(-1_000_000_000_000 - fiona.id % 1_000_000, "Friends")
    await system.say(fiona, "what time is it?")  # a tool call: tool_invocations
    system.llm.reply("Hello, all!", contains="hello everyone")
    await system.mention(fiona, group, "hello everyone")  # her words in a group
    await connect_calendar(system, fiona, email)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    create = {"action": "create", "text": "water the plants", "when": due.isoformat()}
    system.llm.call("reminder", create, contains="remind me")
    await system.say(fiona, "remind me to water the plants")
    await system.next_message(fiona.id, after=0, containing="⏰ water the plants")
    await until(lambda: system.reminder_runs(fiona))  # the fire is recorded
    user = system.user_row(fiona)
    assert user is not None
    jobs = system.query("SELECT id FROM cron_jobs WHERE user_id = %s", user["id"])
    threads = system.query(
        "SELECT thread_id FROM user_assistant_threads WHERE user_id = %s", user["id"]
    )
    # The ids her rows are found by, and what identifies her.
    records = [user["id"], *(str(row[0]) for row in [*jobs, *threads])]
    needles = [*records, str(fiona.id), fiona.username]
    held = rows_mentioning(system, needles)
    for table in ("users", "chat_messages", "user_assistant_threads", "cron_jobs",
                  "cron_job_runs", "calendar_credentials", "tool_invocations"):  # fmt: skip
        assert held.get(table), f"nothing of the user in {table} before /forget: {held}"

    assert "/forget confirm" in (await system.say(fiona, "/forget")).text
    done = await system.say(fiona, "/forget confirm")

    assert "forgotten everything" in done.text
    assert rows_mentioning(system, needles) == {}

    again = await system.say(fiona, "hello again")  # a stranger now, welcome as any
    assert "hello again" in again.text
    assert (system.user_row(fiona) or {}).get("id") not in (None, user["id"])
    assert rows_mentioning(system, records) == {}  # nothing old came back with her


#: In the realistic style these come as UTC (`Z`), `+03:00`, the phrase and local ISO.
RUSSIAN_REMINDERS = [
    ("3 минуты", "полить цветы"),
    ("7 минут", "позвонить маме"),
    ("25 минут", "выключить духовку"),
    ("45 минут", "забрать детей"),
]


@WITH_REAL_ARGUMENTS
async def test_a_reminder_asked_for_in_russian_is_set_for_the_moment_meant(
    system: System, style: str
) -> None:
    """A user in Moscow, the stand-in's own rules (no script): whatever way the model spells
    the time (the phrase, local ISO, `+03:00`, `Z`), the stored moment and the one the
    answer names are the moment meant."""
    olga = Person.new("Olga", language="ru")
    assert "Europe/Moscow" in (await system.say(olga, "/timezone Europe/Moscow")).text
    moscow = ZoneInfo("Europe/Moscow")
    asked: dict[str, tuple[datetime, str]] = {}
    for phrase, what in RUSSIAN_REMINDERS:
        sent = datetime.now(UTC)
        reply = await system.say(olga, f"напомни через {phrase} {what}")
        minutes = int(phrase.split()[0])
        asked[what] = (sent + timedelta(minutes=minutes), reply.text)

    rows = system.query(
        "SELECT j.text, j.run_at FROM cron_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.telegram_id = %s",
        olga.id,
    )
    stored = {text: run_at for text, run_at in rows}
    assert sorted(stored) == sorted(asked)
    for what, (meant, answer) in asked.items():
        assert abs((stored[what] - meant).total_seconds()) < 10, (what, stored[what], meant)
        assert f"{stored[what].astimezone(moscow):%H:%M}" in answer, answer
    spelt = written_calls(system)
    assert len(spelt) == len(asked)
    if style == "realistic":
        whens = [json.loads(arguments)["when"] for arguments in spelt]
        forms = {"phrase" if w.startswith("через") else w[19:] or "local" for w in whens}
        assert forms == {"phrase", "Z", "+03:00", "local"}, whens


def written_calls(system: System) -> list[str]:
    """The arguments of every tool call the model wrote (as the requests after it show)."""
    calls = {
        call["id"]: call["function"]["arguments"]
        for request in list(system.llm.requests)
        for message in request.messages
        for call in message.get("tool_calls") or []
    }
    return list(calls.values())


@WITH_REAL_ARGUMENTS
async def test_a_picture_asked_for_arrives_as_a_photo_and_without_an_image_model_politely_not(
    system: System,
) -> None:
    """The shipped secretary has `draw`; the seed makes no image model unless IMAGE_MODEL
    names one, so an admin adds one while the system runs."""
    mia = Person.new("Mia")
    refused = await system.say(mia, "draw a cat in a spacesuit")
    assert "no model that makes images is set up" in refused.text and refused.photo is None

    async with system.admin() as admin:
        painter = await add_model(admin, "sandbox-painter", capabilities=["image"])
        try:
            await system.assistant_has_latest_config()
            photo = await system.say(mia, "draw a cat in a spacesuit")
        finally:
            await admin.delete(f"/api/llm-models/{painter}")

    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG\r\n\x1a\n")
    assert photo.text == "Here is your picture."
    [made] = [r for r in system.llm.media.requests if r.status == 200]
    assert made.model == "sandbox-painter" and made.fields["prompt"] == "a cat in a spacesuit"
