"""/briefings: the user's scheduled briefings with their next local time and a Cancel button
each; cancelled by button (once) and by number, never someone else's; English and Russian."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from common.features.buttons import ButtonAction, ButtonData, cancel_reminder_button, decode
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType, TelegramUser
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.reminders import MakeReminder
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Reply
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers import test_buttons
from tg_bot.tests.handlers.test_buttons import Tapper, answered, tapper_for, the_edit

#: The real handlers' services, as the buttons' tests make them.
services = test_buttons.services

MakeBriefing = Callable[..., Awaitable[CronJob]]


@pytest.fixture
def make_briefing(rest: RestClient, user: TelegramUser) -> MakeBriefing:
    async def make(prompt: str, cron_expression: str, owner: TelegramUser = user) -> CronJob:
        return await rest.create_cron_job(
            name=prompt[:60],
            type=CronJobType.assistant_prompt,
            chat_id=owner.telegram_id,
            user_id=owner.id,
            prompt=prompt,
            cron_expression=cron_expression,
            timezone="Europe/Berlin",
        )

    return make


async def test_briefings_list_cancels_by_button_once_and_leaves_reminders_alone(
    services: Services,
    user: TelegramUser,
    rest: RestClient,
    telegram: TelegramStandIn,
    make_briefing: MakeBriefing,
    make_reminder: MakeReminder,
) -> None:
    morning = await make_briefing("my agenda and the weather in Berlin", "0 8 * * 1-5")
    evening = await make_briefing("tomorrow's first meeting", "0 21 * * *")
    tea = await make_reminder("tea", due_in=600)
    ann = tapper_for(services, user)

    listing = await ann.command("/briefings")
    assert isinstance(listing, Reply)
    assert "Your briefings" in listing.text and "tea" not in listing.text
    assert "my agenda and the weather in Berlin (every weekday at 08:00)" in listing.text
    assert "(every day at 21:00)" in listing.text
    labels = sorted(row[0].text.split(". ", 1)[1] for row in listing.buttons)
    assert labels == ["my agenda and the weather in Berlin", "tomorrow's first meeting"]
    target = next(row[0] for row in listing.buttons if "agenda" in row[0].text)
    assert decode(target.data) == ButtonData(ButtonAction.CANCEL_BRIEFING, str(morning.id))

    tap = ann.query(target.data, 700, listing.text)
    after = the_edit(await ann.tap(tap), 700)
    assert "agenda" not in after.text and "first meeting" in after.text
    assert answered(telegram, tap) == ["Briefing cancelled."]
    assert (await rest.get_cron_job(morning.id)).status == CronJobStatus.cancelled
    assert (await ann.press(target, 700)).kind == "button_used"
    stale = await ann.press(target, 701)  # the same briefing from an older list
    assert "first meeting" in the_edit(stale, 701).text
    assert (await rest.get_cron_job(evening.id)).status == CronJobStatus.active
    assert (await rest.get_cron_job(tea.id)).status == CronJobStatus.active


async def test_cancel_by_number_and_the_confirmations_cancel_button(
    services: Services, user: TelegramUser, rest: RestClient, make_briefing: MakeBriefing
) -> None:
    first = await make_briefing("weather", "0 7 * * *")
    second = await make_briefing("agenda", "0 8 * * *")
    ann = tapper_for(services, user)
    assert await ann.command("/briefings cancel 5") == (
        "There is no briefing number 5. Send /briefings to see the list."
    )
    # The list is in the order they fire next, which swaps between 07:00 and 08:00 Berlin time:
    # the number is read from the list, as a person would.
    listing = await ann.command("/briefings")
    assert isinstance(listing, Reply)
    label = next(row[0].text for row in listing.buttons if "weather" in row[0].text)
    number = re.search(r"(\d+)\. weather", label).group(1)  # type: ignore[union-attr]
    assert await ann.command(f"/briefings cancel {number}") == "Cancelled the briefing: weather"
    assert (await rest.get_cron_job(first.id)).status == CronJobStatus.cancelled
    # The assistant's confirmation carries the reminders' Cancel button: it cancels a briefing.
    edit = the_edit(await ann.press(cancel_reminder_button(second.id, "en"), 42, "Set."), 42)
    assert edit.text.endswith(CATALOGUE.text("en", "reminders.cancelled_mark"))
    assert (await rest.get_cron_job(second.id)).status == CronJobStatus.cancelled
    assert await ann.command("/briefings") == CATALOGUE.text("en", "briefings.none")


async def test_someone_elses_briefing_is_not_cancelled(
    services: Services, user: TelegramUser, rest: RestClient, make_briefing: MakeBriefing
) -> None:
    bob, _ = await rest.get_or_create_user(telegram_id=user.telegram_id + 7)
    his = await make_briefing("bob's agenda", "0 8 * * *", owner=bob)
    ann = tapper_for(services, user)
    button = ButtonData(ButtonAction.CANCEL_BRIEFING, str(his.id))
    outcome = await ann.tap(ann.query(button.encode(), 9))
    assert outcome.replies == []
    assert (await rest.get_cron_job(his.id)).status == CronJobStatus.active


async def test_russian_listing(
    services: Services, user: TelegramUser, make_briefing: MakeBriefing
) -> None:
    await make_briefing("мои дела и погода в Берлине", "0 8 * * 1-5")
    ann = RussianTapper(
        services, user.telegram_id, build.private_chat(build.user(user.telegram_id))
    )
    listing = await ann.command("/briefings")
    assert isinstance(listing, Reply)
    assert "Ваши сводки" in listing.text
    assert "мои дела и погода в Берлине (по будням в 08:00)" in listing.text
    assert await ann.command("/briefings cancel 1") == (
        "Сводка отменена: мои дела и погода в Берлине"
    )
    assert await ann.command("/briefings") == CATALOGUE.text("ru", "briefings.none")


class RussianTapper(Tapper):
    language = "ru"


async def test_reminders_points_to_the_briefings(
    services: Services, user: TelegramUser, make_briefing: MakeBriefing, make_reminder: MakeReminder
) -> None:
    ann = tapper_for(services, user)
    assert "/briefings" not in str(await ann.command("/reminders"))
    await make_briefing("agenda", "0 8 * * *")
    listing = await ann.command("/reminders")
    assert isinstance(listing, str) and listing.endswith("Scheduled briefings: 1, see /briefings.")
    await make_reminder("tea", due_in=600)
    listing = await ann.command("/reminders")
    assert isinstance(listing, Reply) and "tea" in listing.text
    assert listing.text.endswith("Scheduled briefings: 1, see /briefings.")
