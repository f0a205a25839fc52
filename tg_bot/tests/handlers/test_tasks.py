"""/tasks: the sender's open tasks by priority then deadline, a ✓ button each that completes
it once and edits the list in place (its reminder cancelled); private only. Real handlers,
Redis, rest_service and the Telegram stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.features.buttons import ButtonAction, ButtonData, decode
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, TaskPriority, TaskStatus, TelegramUser
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Reply
from tg_bot.tests.handlers import test_buttons
from tg_bot.tests.handlers.test_buttons import Tapper, answered, tapper_for, the_edit

#: test_buttons' services (real rest_service, Redis and the Telegram stand-in's client).
services = test_buttons.services


async def open_titles(rest: RestClient, user: TelegramUser) -> list[str]:
    return [t.title for t in await rest.list_tasks(user.id, status=TaskStatus.open)]


async def test_tasks_lists_open_tasks_and_completes_by_button_once(
    services: Services, user: TelegramUser, rest: RestClient, telegram: TelegramStandIn
) -> None:
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    job = await rest.create_cron_job(
        name="Task: Pay rent", chat_id=user.telegram_id, user_id=user.id, text="Task: Pay rent",
        run_at=due,
    )  # fmt: skip
    await rest.create_task(user.id, "Someday", priority=TaskPriority.low)
    rent = await rest.create_task(
        user.id, "Pay rent", deadline=due, priority=TaskPriority.high, reminder_job_id=job.id
    )
    ann = tapper_for(services, user)

    listing = await ann.command("/tasks")
    assert isinstance(listing, Reply)
    assert "1. ❗ Pay rent — due " in listing.text and "2. ↓ Someday" in listing.text
    [[first, second]] = listing.buttons
    assert (first.text, second.text) == ("✓ 1", "✓ 2")
    assert decode(first.data) == ButtonData(ButtonAction.TASK_COMPLETE, str(rent.id))

    tap = ann.query(first.data, 700, listing.text)
    after = the_edit(await ann.tap(tap), 700)
    assert "Done: _Pay rent_" in after.text and "1. ↓ Someday" in after.text
    assert [[b.text for b in row] for row in after.buttons] == [["✓ 1"]]
    assert answered(telegram, tap) == ["Done."]
    assert await open_titles(rest, user) == ["Someday"]
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.cancelled

    double = ann.query(first.data, 700)  # a double tap: a new query, the same button
    again = await ann.tap(double)
    assert (again.kind, again.replies) == ("button_used", [])

    old = ann.query(first.data, 701)  # the same task from an older list
    stale = await ann.tap(old)
    assert answered(telegram, old) == ["That one is done or gone already."]
    assert "Someday" in the_edit(stale, 701).text

    last = await ann.press(the_edit(stale, 701).buttons[0][0], 702)
    assert "You have no open tasks" in the_edit(last, 702).text
    assert await open_titles(rest, user) == []


async def test_tasks_when_there_are_none(
    services: Services, user: TelegramUser, telegram: TelegramStandIn
) -> None:
    ann = tapper_for(services, user)
    empty = await ann.command("/tasks")
    assert isinstance(empty, Reply) and "You have no open tasks" in empty.text
    assert empty.buttons == []
    garbled = ann.query(ButtonData(ButtonAction.TASK_COMPLETE, "not-an-id").encode(), 801)
    await ann.tap(garbled)
    assert answered(telegram, garbled) != []


async def test_tasks_in_a_group_shows_nothing(
    services: Services, user: TelegramUser, rest: RestClient
) -> None:
    await rest.create_task(user.id, "Buy a ring")
    ann = Tapper(services, user.telegram_id, build.group_chat(-100123))
    answer = await ann.command("/tasks")
    text = answer.text if isinstance(answer, Reply) else answer
    assert "ring" not in text and "/tasks" in text
    outcome = await ann.tap(ann.query(ButtonData(ButtonAction.TASK_COMPLETE, "x").encode(), 9))
    assert "ring" not in "".join(r.text for r in outcome.replies)


async def test_a_stranger_cannot_complete_anothers_task(
    services: Services, user: TelegramUser, rest: RestClient
) -> None:
    task = await rest.create_task(user.id, "Buy a ring")
    data = ButtonData(ButtonAction.TASK_COMPLETE, str(task.id)).encode()
    stranger = Tapper(
        services, user.telegram_id + 7, build.private_chat(build.user(user.telegram_id + 7))
    )
    outcome = await stranger.tap(stranger.query(data, 800))
    assert "ring" not in "".join(r.text for r in outcome.replies)
    assert await open_titles(rest, user) == ["Buy a ring"]
