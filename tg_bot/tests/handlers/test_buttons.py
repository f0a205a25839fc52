"""Tapped buttons, handler by handler: the real handlers on real Redis and a real rest_service,
the callback query answered through the real client to the Telegram stand-in. What a tap
leads to is read off its `Outcome` (the edit of the message it was under) and rest_service."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.buttons import (
    ButtonAction,
    ButtonData,
    cancel_reminder_button,
    decode,
    fired_reminder_buttons,
)
from common.infrastructure.errors import NotFoundError
from common.infrastructure.http_client import client_session
from common.infrastructure.queue_messages import Button
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.settings import load_settings
from common.infrastructure.wire import CronJobStatus, CronJobType, TelegramUser
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.reminders import MakeReminder
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.clients.types import TgCallbackQuery, TgUpdate
from tg_bot.src.domain.users import UserDirectory
from tg_bot.src.handlers.addressing import parse_command
from tg_bot.src.handlers.base import Addressed, BotIdentity, Outcome, Services
from tg_bot.src.handlers.buttons import button_pressed
from tg_bot.src.handlers.commands import Reply
from tg_bot.src.i18n import CATALOGUE
from tg_bot.src.main import default_commands
from tg_bot.src.settings import Settings

BOT = BotIdentity(id=123456, username="test_bot")
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def services(
    bot_env: dict[str, str],
    rest_url: str,
    redis: aioredis.Redis,
    names: Names,
    telegram: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Services]:
    monkeypatch.setenv("RATE_LIMIT_MESSAGES_PER_MINUTE", "100000")
    config = load_settings(Settings)
    async with (
        RestClient(rest_url, config.own_service_token) as rest,
        client_session() as http,
        TelegramClient(config.telegram_api_base, config.telegram_token, retries=0) as client,
    ):
        users = UserDirectory(rest, 0)
        yield Services(config, rest, users, redis, names, default_commands(), http, client)


class Tapper:
    """One person in a chat with the bot: sends commands, taps buttons of bot messages."""

    language = "en"

    def __init__(self, services: Services, telegram_id: int, chat: dict[str, Any]) -> None:
        self.services = services
        self.sender = build.user(telegram_id, "Ann")
        self.chat = chat
        self.update_id = random.randint(10**6, 10**9)

    def _next(self) -> int:
        self.update_id += 1
        return self.update_id

    async def command(self, text: str) -> str | Reply:
        raw = build.message(self.chat, self.sender, text=text)["message"]
        update = TgUpdate.model_validate(
            {"update_id": self._next(), "message": {**raw, "date": 0, "message_id": 1}}
        )
        assert update.message is not None and update.message.sender is not None
        user, created = await self.services.users.identify(update.message.sender)
        turn = Addressed(
            update_id=update.update_id,
            message=update.message,
            sender=update.message.sender,
            text=text,
            incoming_id=uuid.uuid4(),
            catalogue=CATALOGUE.speaking(self.language),
            user=user,
            created=created,
        )
        call = parse_command(text)
        assert call is not None
        return await self.services.commands.run(call, turn, self.services)

    def query(
        self, data: str | None, message_id: int, text: str = "⏰ water the plants"
    ) -> TgCallbackQuery:
        bot = build.user(BOT.id, "Bot", is_bot=True)
        message = {"message_id": message_id, "date": 0, "chat": self.chat, "from": bot}
        return TgCallbackQuery.model_validate(
            {
                "id": uuid.uuid4().hex,
                "from": self.sender,
                "message": {**message, "text": text},
                "data": data,
                "chat_instance": "1",
            }
        )

    async def tap(self, query: TgCallbackQuery, update_id: int | None = None) -> Outcome:
        return await button_pressed(update_id or self._next(), query, self.services, BOT)

    async def press(self, button: Button, message_id: int, text: str = "⏰ x") -> Outcome:
        return await self.tap(self.query(button.data, message_id, text))


def ann_and_bob(services: Services) -> tuple[Tapper, Tapper]:
    """Ann in her private chat with the bot, and Bob, someone else, tapping in it."""
    ann = Tapper(services, random.randint(10**8, 10**9), {})
    ann.chat = build.private_chat(ann.sender)
    return ann, Tapper(services, ann.sender["id"] + 1, ann.chat)


def tapper_for(services: Services, user: TelegramUser) -> Tapper:
    return Tapper(services, user.telegram_id, build.private_chat(build.user(user.telegram_id)))


def the_edit(outcome: Outcome, message_id: int) -> Reply:
    [edit] = outcome.replies
    assert edit.edit_telegram_message_id == message_id
    assert edit.reply_to_telegram_message_id is None
    return Reply(edit.text, edit.buttons)


def answered(telegram: TelegramStandIn, query: TgCallbackQuery) -> list[str | None]:
    """How the bot answered the query in Telegram (the notices; at most one is accepted)."""
    return [a["text"] for a in telegram.callback_answers if a["callback_query_id"] == query.id]


async def test_reminders_list_cancels_by_button_once(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    telegram: TelegramStandIn,
) -> None:
    soon = await make_reminder("dentist", due_in=1800)
    later = await make_reminder("standup", due_in=7200)
    ann = tapper_for(services, user)

    listing = await ann.command("/reminders")
    assert isinstance(listing, Reply) and "dentist" in listing.text
    [[first], [second]] = listing.buttons
    assert (first.text, second.text) == ("✖ 1. dentist", "✖ 2. standup")
    assert decode(second.data) == ButtonData(ButtonAction.CANCEL_REMINDER, str(later.id), "l")

    tap = ann.query(second.data, 500)
    outcome = await ann.tap(tap, update_id=9_000_001)
    assert outcome.kind == "button"
    after = the_edit(outcome, 500)
    assert "dentist" in after.text and "standup" not in after.text
    assert [[b.text for b in row] for row in after.buttons] == [["✖ 1. dentist"]]
    assert (await rest.get_cron_job(later.id)).status == CronJobStatus.cancelled
    assert answered(telegram, tap) == ["Reminder cancelled."]

    double = ann.query(second.data, 500)  # a double tap: a new query, same button
    again = await ann.tap(double)
    assert (again.kind, again.replies) == ("button_used", [])
    assert answered(telegram, double) == ["Already done."]
    replayed = await ann.tap(tap, update_id=9_000_001)  # the same update once more
    assert answered(telegram, tap) == ["Reminder cancelled."]  # answered once, still
    assert replayed.replies[0].message_id == outcome.replies[0].message_id
    assert replayed.replies[0].text == after.text

    stale = await ann.press(second, 501)  # the same reminder from an older list
    assert stale.kind == "button" and "standup" not in the_edit(stale, 501).text
    assert (await rest.get_cron_job(soon.id)).status == CronJobStatus.active


async def test_a_confirmations_cancel_marks_the_message_and_drops_its_button(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder("call mum", due_in=600)
    ann = tapper_for(services, user)
    cancel = cancel_reminder_button(job.id, "en")
    outcome = await ann.press(cancel, 42, "Reminder set for 18:00: call mum")
    edit = the_edit(outcome, 42)
    assert edit.text.startswith("Reminder set for 18:00: call mum")
    assert edit.text.endswith(CATALOGUE.text("en", "reminders.cancelled_mark"))
    assert edit.buttons == []
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.cancelled
    stale = await ann.press(cancel, 43, "Reminder set: call mum")
    assert the_edit(stale, 43).text.endswith(CATALOGUE.text("en", "reminders.gone_mark"))


async def test_snooze_makes_one_follow_up_whatever_is_tapped_again(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder("water the plants", due_in=-1)
    await rest.update_cron_job(job.id, status=CronJobStatus.done)
    ann = tapper_for(services, user)
    [[ten, hour, tomorrow], [done]] = fired_reminder_buttons(job.id, "en")

    started = datetime.now(UTC)
    tap = ann.query(ten.data, 77)
    outcome = await ann.tap(tap, update_id=9_100_001)
    edit = the_edit(outcome, 77)
    assert edit.text.startswith("⏰ water the plants") and "remind you again" in edit.text
    assert edit.buttons == []
    assert (await ann.press(hour, 77)).kind == "button_used"
    assert (await ann.press(done, 77)).kind == "button_used"
    await ann.tap(tap, update_id=9_100_001)  # replayed: the same follow-up

    follow_ups = [
        j
        for j in await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)
        if j.id != job.id
    ]
    assert len(follow_ups) == 1
    [again] = follow_ups
    assert again.status == CronJobStatus.active and again.text == "water the plants"
    assert again.run_at is not None
    due = again.run_at - started
    assert timedelta(minutes=9, seconds=58) <= due <= timedelta(minutes=10, seconds=5)

    # Another fire of the same reminder is another message: Tomorrow, one day on.
    later = await ann.press(tomorrow, 78)
    assert later.kind == "button"
    jobs = await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)
    runs = sorted(j.run_at - started for j in jobs if j.id != job.id and j.run_at)
    assert len(runs) == 2 and timedelta(hours=23) < runs[1] < timedelta(hours=25)


async def test_done_ends_a_one_off_and_a_cancelled_reminder_answers_politely(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder("stretch", due_in=-1)
    ann = tapper_for(services, user)
    [[ten, _, _], [done]] = fired_reminder_buttons(job.id, "en")
    edit = the_edit(await ann.press(done, 90, "⏰ stretch"), 90)
    assert edit.text == "⏰ stretch\n\n" + CATALOGUE.text("en", "reminders.done_mark")
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.done

    cancelled = await make_reminder("nap", due_in=-1)
    await rest.update_cron_job(cancelled.id, status=CronJobStatus.cancelled)
    [[ten, _, _], [done]] = fired_reminder_buttons(cancelled.id, "en")
    stale = await ann.press(ten, 91, "⏰ nap")
    assert the_edit(stale, 91).text.endswith(CATALOGUE.text("en", "reminders.gone_mark"))
    jobs = await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)
    assert len(jobs) == 2  # no snooze of a cancelled reminder


async def test_model_picker_marks_the_current_one_and_sets_the_tapped(
    services: Services, rest: RestClient, secrets: dict[str, str], rest_url: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with RestClient(rest_url, secrets["ADMIN_API_TOKEN"]) as admin:
        provider = await admin.post_json(
            "/api/llm-providers/", {"name": f"p-{suffix}", "base_url": "http://127.0.0.1:9/v1"}
        )
        made = [
            await admin.post_json(
                "/api/llm-models/",
                {"provider_id": provider["id"], "provider_model_name": f"{name}-{suffix}"},
            )
            for name in ("alpha", "beta")
        ]
    alpha, beta = (m["name"] for m in made)
    ann = Tapper(services, random.randint(10**8, 10**9), {})
    ann.chat = build.private_chat(ann.sender)
    picker = await ann.command("/model")
    assert isinstance(picker, Reply)
    labels = {b.text: b for row in picker.buttons for b in row}
    assert alpha in labels and beta in labels

    outcome = await ann.press(labels[beta], 300, picker.text)
    assert the_edit(outcome, 300).text == CATALOGUE.text("en", "model.set", model=beta)
    assert (await rest.get_user_by_telegram(ann.sender["id"])).preferred_model == beta
    again = await ann.command("/model")
    assert isinstance(again, Reply)
    assert f"✓ {beta}" in [b.text for row in again.buttons for b in row]

    bob = Tapper(services, ann.sender["id"] + 1, ann.chat)  # someone else's picker
    other = await bob.press(labels[alpha], 301)
    assert (other.kind, other.replies) == ("button", [])
    assert (await rest.get_user_by_telegram(ann.sender["id"])).preferred_model == beta

    async with RestClient(rest_url, secrets["ADMIN_API_TOKEN"]) as admin:
        await admin.put_json(f"/api/llm-models/{made[0]['id']}", {"is_active": False})
    gone = await ann.press(labels[alpha], 302)
    assert the_edit(gone, 302).text == CATALOGUE.text("en", "model.gone")
    assert (await rest.get_user_by_telegram(ann.sender["id"])).preferred_model == beta


async def test_forget_asks_with_yes_and_no(
    services: Services, rest: RestClient, telegram: TelegramStandIn
) -> None:
    ann = Tapper(services, random.randint(10**8, 10**9), {})
    ann.chat = build.private_chat(ann.sender)
    question = await ann.command("/forget")
    assert isinstance(question, Reply)
    [[yes, no]] = question.buttons
    assert (yes.text, no.text) == ("Yes, forget me", "No, keep everything")

    kept = await ann.press(no, 10)
    assert the_edit(kept, 10).text == CATALOGUE.text("en", "forget.kept")
    assert (await ann.press(yes, 10)).kind == "button_used"  # the question was answered
    await rest.get_user_by_telegram(ann.sender["id"])
    stale = await ann.press(yes, 11)  # a Yes with no question pending
    assert the_edit(stale, 11).text == CATALOGUE.text("en", "forget.stale")
    await rest.get_user_by_telegram(ann.sender["id"])

    question = await ann.command("/forget")
    assert isinstance(question, Reply)
    [[yes, no]] = question.buttons
    bob = Tapper(services, ann.sender["id"] + 1, ann.chat)
    bobs = bob.query(yes.data, 12)
    assert (await bob.tap(bobs)).replies == []
    assert answered(telegram, bobs) == ["This button is for someone else."]
    await rest.get_user_by_telegram(ann.sender["id"])
    done = await ann.press(yes, 12)
    assert the_edit(done, 12).text == CATALOGUE.text("en", "forget.done")
    with pytest.raises(NotFoundError):
        await rest.get_user_by_telegram(ann.sender["id"])


async def test_typed_forget_confirm_still_works(services: Services, rest: RestClient) -> None:
    ann = Tapper(services, random.randint(10**8, 10**9), {})
    ann.chat = build.private_chat(ann.sender)
    await ann.command("/forget")
    assert await ann.command("/forget confirm") == CATALOGUE.text("en", "forget.done")
    with pytest.raises(NotFoundError):
        await rest.get_user_by_telegram(ann.sender["id"])


async def test_a_sender_outside_the_allow_list_acts_on_nothing(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = await make_reminder("secret", due_in=600)
    ann = tapper_for(services, user)
    cancel = cancel_reminder_button(job.id, "en")
    monkeypatch.setenv("ALLOWED_TELEGRAM_IDS", str(user.telegram_id + 1))
    ann.services = dataclasses.replace(services, settings=load_settings(Settings))
    refused = await ann.press(cancel, 5)
    assert (refused.kind, refused.replies) == ("refused", [])
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.active


async def test_a_blocked_user_acts_on_nothing_and_the_spinner_still_stops(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    telegram: TelegramStandIn,
) -> None:
    job = await make_reminder("quiet", due_in=600)
    await services.users.set_blocked(user.telegram_id, True)
    ann = tapper_for(services, user)
    query = ann.query(cancel_reminder_button(job.id, "en").data, 6)
    outcome = await ann.tap(query)
    assert (outcome.kind, outcome.replies) == ("blocked", [])
    assert answered(telegram, query) == [None]
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.active


async def test_taps_count_against_the_message_limit(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    telegram: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RATE_LIMIT_MESSAGES_PER_MINUTE", "2")
    ann = tapper_for(dataclasses.replace(services, settings=load_settings(Settings)), user)
    jobs = [await make_reminder(f"tap {n}", due_in=600) for n in range(3)]
    queries = [ann.query(cancel_reminder_button(job.id, "en").data, 7) for job in jobs]
    kinds = [(await ann.tap(query)).kind for query in queries]
    assert kinds == ["button", "button", "limited"]
    [[flood]] = [answered(telegram, q) for q in queries[2:]]
    assert flood is not None and "faster" in flood
    assert (await rest.get_cron_job(jobs[2].id)).status == CronJobStatus.active


@PROPERTY
@given(
    data=st.one_of(
        st.none(),
        st.text(max_size=64),
        st.sampled_from(["b1:cx::", "b1:sn:{job}:99m", "b1:dn:{other}:", "b1:md:x:", "b1:fy::"]),
    ),
    message_id=st.integers(min_value=-(2**31), max_value=2**31),
    stranger=st.booleans(),
)
async def test_any_tap_from_outside_is_answered_and_acts_on_nothing_it_should_not(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    telegram: TelegramStandIn,
    data: str | None,
    message_id: int,
    stranger: bool,
) -> None:
    """Garbage data, foreign message ids, another person tapping the owner's buttons: an
    answer every time, never an exception, and the owner's reminder and profile untouched
    (only the owner's own Cancel may cancel)."""
    job = await make_reminder("guarded", due_in=600)
    try:
        if data is not None:
            # Placeholders of the sampled forms; random text may hold any braces.
            data = data.replace("{job}", str(job.id)).replace("{other}", str(uuid.uuid4()))
        ann = tapper_for(services, user)
        tapper = Tapper(services, user.telegram_id + 7, ann.chat) if stranger else ann
        query = tapper.query(data, message_id)
        outcome = await tapper.tap(query)
        [notice] = answered(telegram, query)  # the spinner stops, whatever was tapped
        assert notice
        assert outcome.kind in {"button", "button_unknown", "button_used", "limited"}
        assert outcome.incoming is None
        for edit in outcome.replies:
            assert edit.edit_telegram_message_id == message_id and edit.text
        stored = await rest.get_cron_job(job.id)
        assert stored.status == CronJobStatus.active
        assert len(await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)) >= 1
        if stranger:
            owner_tap = await ann.press(cancel_reminder_button(job.id, "en"), message_id)
            assert owner_tap.kind == "button"  # the stranger's tap did not use the button up
            assert (await rest.get_cron_job(job.id)).status == CronJobStatus.cancelled
    finally:
        # One user for every example (and hypothesis replays them): keep under the cap of 50
        # active reminders per user, snoozes made by a tap included, whatever the example did.
        for left in await rest.list_cron_jobs(user_id=user.id, status=CronJobStatus.active):
            await rest.update_cron_job(left.id, status=CronJobStatus.cancelled)


async def test_a_tap_too_old_to_say_its_message_acts_on_nothing_and_says_so(
    services: Services, telegram: TelegramStandIn
) -> None:
    ann = Tapper(services, random.randint(10**8, 10**9), {})
    data = cancel_reminder_button(uuid.uuid4(), "en").data
    query = TgCallbackQuery.model_validate(
        {"id": uuid.uuid4().hex, "from": ann.sender, "data": data, "chat_instance": "1"}
    )

    outcome = await ann.tap(query)

    assert (outcome.kind, outcome.replies, outcome.incoming) == ("button_unknown", [], None)
    assert answered(telegram, query) == [CATALOGUE.text("en", "button.unknown")]


async def test_done_under_any_fire_of_an_urgent_reminder_stops_its_repeats_and_says_so(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder("pills", cron_expression="0 9 * * *", urgent=True)
    fired = datetime(2026, 11, 27, 9, tzinfo=UTC)
    await rest.update_cron_job(job.id, repeating_for=fired, repeats_sent=2)
    ann = tapper_for(services, user)
    [_, [done]] = fired_reminder_buttons(job.id, "en", fired)  # under its second repeat
    edit = the_edit(await ann.press(done, 95, "🚨 Urgent, repeat 2 of 6: pills"), 95)
    assert edit.text.endswith(CATALOGUE.text("en", "reminders.repeats_stopped_mark"))
    acknowledged = await rest.get_cron_job(job.id)
    assert (acknowledged.acknowledged_for, acknowledged.status) == (fired, CronJobStatus.active)


async def test_snooze_under_an_urgent_fire_answers_it_and_the_snooze_insists_too(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder(
        "pay rent", due_in=-1, urgent=True, repeat_every_minutes=10, max_repeats=2
    )
    assert job.run_at is not None
    ann = tapper_for(services, user)
    [[ten, _, _], _] = fired_reminder_buttons(job.id, "en", job.run_at)
    edit = the_edit(await ann.press(ten, 96, "🚨 Urgent: pay rent"), 96)
    assert "remind you again" in edit.text
    answered_fire = await rest.get_cron_job(job.id)
    assert (answered_fire.acknowledged_for, answered_fire.status) == (
        job.run_at,
        CronJobStatus.done,
    )
    [snoozed] = [
        j
        for j in await rest.list_cron_jobs(user_id=user.id, type=CronJobType.reminder)
        if j.id != job.id
    ]
    assert (snoozed.urgent, snoozed.repeat_every_minutes, snoozed.max_repeats) == (True, 10, 2)


async def test_reminders_says_which_are_urgent_and_how_they_repeat(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    pills = await make_reminder("take the pills", due_in=1800)
    await rest.update_cron_job(pills.id, urgent=True, repeat_every_minutes=10, max_repeats=3)
    await make_reminder("water the plants", due_in=3600)

    listing = await tapper_for(services, user).command("/reminders")

    assert isinstance(listing, Reply)
    urgent, calm = [line for line in listing.text.splitlines() if line[:2] in ("1.", "2.")]
    assert urgent.endswith("🚨 take the pills (urgent: every 10 min until Done, at most 3 times)")
    assert calm.endswith("— water the plants")
