"""Buttons at their edges, handler by handler on real Redis, rest_service and the Telegram
stand-in: a tap the handler cannot carry out is answered with an apology and the button is
given back (it works once the cause is gone), a Delete or Cancel whose target is garbage or
gone says so, a private-only button tapped in a group acts on nothing."""

from __future__ import annotations

import uuid

import pytest

from common.features.buttons import ButtonAction, ButtonData, fired_reminder_buttons
from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, CronJobType, TelegramUser
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from sandbox.telegram_html import parse_html
from tests.reminders import MakeReminder
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Reply
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers import test_buttons
from tg_bot.tests.handlers.test_buttons import (
    Tapper,
    ann_and_bob,
    answered,
    tapper_for,
    the_edit,
)

#: The real handlers' services, as the buttons' tests make them.
services = test_buttons.services

#: rest_service's default cap of active reminders per user.
MAX_ACTIVE = 50


async def test_a_snooze_refused_at_the_reminder_cap_apologises_and_gives_the_button_back(
    services: Services,
    user: TelegramUser,
    make_reminder: MakeReminder,
    rest: RestClient,
    telegram: TelegramStandIn,
) -> None:
    fired = await make_reminder("water the plants", due_in=-1)
    await rest.update_cron_job(fired.id, status=CronJobStatus.done)
    others = [await make_reminder(f"errand {n}", due_in=3600 + n) for n in range(MAX_ACTIVE)]
    ann = tapper_for(services, user)
    [[ten, _hour, _tomorrow], _done] = fired_reminder_buttons(fired.id, "en")

    refused = ann.query(ten.data, 90)
    outcome = await ann.tap(refused)

    assert (outcome.kind, outcome.replies) == ("button", [])  # the message stays as it was
    assert answered(telegram, refused) == [CATALOGUE.text("en", "button.failed")]
    active = await rest.list_cron_jobs(
        user_id=user.id, type=CronJobType.reminder, status=CronJobStatus.active
    )
    assert len(active) == MAX_ACTIVE  # no follow-up was made

    # Room again: the same button works (the failed tap did not use it up).
    await rest.update_cron_job(others[0].id, status=CronJobStatus.cancelled)
    again = ann.query(ten.data, 90)
    snoozed = await ann.tap(again)
    assert "remind you again" in the_edit(snoozed, 90).text
    assert answered(telegram, again) == [CATALOGUE.text("en", "reminders.snoozed_notice")]


async def test_a_memory_delete_with_a_garbled_target_deletes_nothing(
    services: Services, user: TelegramUser, rest: RestClient, telegram: TelegramStandIn
) -> None:
    await rest.add_fact(user.id, "My wife is Anna")
    ann = tapper_for(services, user)
    garbled = ButtonData(ButtonAction.MEMORY_DELETE, "not-a-fact-id").encode()

    query = ann.query(garbled, 60, "What I remember about you")
    outcome = await ann.tap(query)

    assert outcome.replies == []
    assert answered(telegram, query) == [CATALOGUE.text("en", "button.unknown")]
    assert [f.text for f in await rest.list_facts(user.id)] == ["My wife is Anna"]


async def test_a_memory_delete_tapped_in_a_group_deletes_nothing(
    services: Services, user: TelegramUser, rest: RestClient, telegram: TelegramStandIn
) -> None:
    fact, _ = await rest.add_fact(user.id, "My cat is Barsik")
    ann = Tapper(services, user.telegram_id, build.group_chat(-100777))
    data = ButtonData(ButtonAction.MEMORY_DELETE, str(fact.id)).encode()

    query = ann.query(data, 61, "What I remember about you")
    outcome = await ann.tap(query)

    assert all("Barsik" not in r.text for r in outcome.replies)
    assert answered(telegram, query) == [CATALOGUE.text("en", "button.not_yours")]
    assert [f.text for f in await rest.list_facts(user.id)] == ["My cat is Barsik"]


async def test_a_briefings_cancel_for_a_briefing_that_never_was_says_it_is_gone(
    services: Services, user: TelegramUser, telegram: TelegramStandIn
) -> None:
    ann = tapper_for(services, user)
    for target in (str(uuid.uuid4()), "garbage"):
        data = ButtonData(ButtonAction.CANCEL_BRIEFING, target).encode()
        query = ann.query(data, 62, "Your briefings")
        outcome = await ann.tap(query)
        assert outcome.replies == []
        assert answered(telegram, query) == [CATALOGUE.text("en", "briefings.gone_notice")]


async def test_no_under_someone_elses_forget_question_keeps_it_pending(
    services: Services, rest: RestClient, telegram: TelegramStandIn
) -> None:
    """Bob's No does not answer Ann's question: her Yes still forgets her."""
    ann, bob = ann_and_bob(services)
    question = await ann.command("/forget")
    assert isinstance(question, Reply)
    [[yes, no]] = question.buttons

    bobs = bob.query(no.data, 63, question.text)
    assert (await bob.tap(bobs)).replies == []
    assert answered(telegram, bobs) == [CATALOGUE.text("en", "button.not_yours")]

    done = await ann.press(yes, 64)
    assert the_edit(done, 64).text == CATALOGUE.text("en", "forget.done")
    with pytest.raises(NotFoundError):
        await rest.get_user_by_telegram(ann.sender["id"])


async def test_done_under_a_cancelled_reminder_says_it_is_gone_and_changes_nothing(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    job = await make_reminder("nap", due_in=-1)
    await rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
    [_snoozes, [done]] = fired_reminder_buttons(job.id, "en")

    outcome = await tapper_for(services, user).press(done, 92, "⏰ nap")

    assert the_edit(outcome, 92).text == "⏰ nap\n\n" + CATALOGUE.text("en", "reminders.gone_mark")
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.cancelled


async def test_a_reminder_set_in_another_zone_is_listed_with_that_zone(
    services: Services, user: TelegramUser, make_reminder: MakeReminder, rest: RestClient
) -> None:
    """Its clock time is the zone it was set in, not the user's: the list says which."""
    await rest.update_user(str(user.id), timezone="Europe/Berlin")
    await make_reminder("call Kenji", due_in=7200, timezone="Asia/Tokyo")
    await make_reminder("water the plants", due_in=3600, timezone="Europe/Berlin")

    listing = await tapper_for(services, user).command("/reminders")

    assert isinstance(listing, Reply)
    seen = parse_html(MarkdownRenderer().render(listing.text)).text.splitlines()
    [kenji] = [line for line in seen if "call Kenji" in line]
    [plants] = [line for line in seen if "water the plants" in line]
    assert "(Asia/Tokyo)" in kenji and "(" not in plants
