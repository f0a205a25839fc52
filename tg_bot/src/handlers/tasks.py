"""/tasks: the sender's open tasks by priority, then deadline, each with a ✓ button that
completes it (rest_service cancels its reminder); the list is edited in place to what is left.
Private chats only: tasks are never shown in a group. A ✓ acts once (the buttons' claim); a task
done or gone already is answered politely with the list as it is now.

`/tasks google` turns Google Tasks sync on (the answer carries the link when Google Tasks is
not allowed yet), `/tasks google off` off; with sync on, /tasks and a ✓ sync first, and say
so when Google could not be reached (nothing here is lost)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from common.features.buttons import ButtonAction, ButtonData, button
from common.features.calendar_client import CalendarNotConnected
from common.features.google_tasks import sync_if_on
from common.infrastructure.errors import AppError, NotFoundError
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import TASKS_MAX, Task, TaskPriority, TaskStatus, User
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.handlers.reminders import moment_text, user_zone
from tg_bot.src.i18n import Markdown

_BUTTONS_PER_ROW = 4
#: How long a connect link works (the calendar service's OAuth state lifetime, its default).
LINK_MINUTES = 10
_MARKS = {TaskPriority.high: "tasks.high", TaskPriority.low: "tasks.low"}


async def show_tasks(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.is_group:
        return turn.t("tasks.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    words = args.casefold().split()
    if words[:1] == ["google"]:
        return await _google(turn, turn.user, words[1:] == ["off"], services)
    synced = await sync_if_on(services.rest, services.calendar, str(turn.user.id))
    listing = await _listing(turn, turn.user, services)
    if synced.unreachable:
        return Reply(f"{turn.t('tasks.google_unreachable')}\n\n{listing.text}", listing.buttons)
    return listing


async def _google(turn: Addressed, user: User, off: bool, services: Services) -> str | Reply:
    """`/tasks google`: sync on (the link when Google Tasks is not allowed yet); `off`."""
    try:
        report = await services.calendar.turn_task_sync(str(user.id), on=not off)
    except CalendarNotConnected as exc:
        if not exc.auth_url:
            return turn.t("tasks.google_unavailable")
        allow = Button(text=turn.t("tasks.google_button"), url=exc.auth_url)
        text = turn.t("tasks.google_link", url=Markdown(exc.auth_url), minutes=LINK_MINUTES)
        return Reply(text, [[allow]])
    except AppError:
        return turn.t("tasks.google_unavailable")
    if off:
        return turn.t("tasks.google_off")
    if report.unreachable:
        return f"{turn.t('tasks.google_on')}\n\n{turn.t('tasks.google_unreachable')}"
    return turn.t("tasks.google_on")


async def complete_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if turn.is_group or turn.user is None:
        return Pressed(turn.t("button.not_yours"))
    try:
        task_id = UUID(press.data.target)
    except ValueError:
        return Pressed(turn.t("button.unknown"))
    task = await _open_task(turn.user, task_id, services)
    if task is None:
        return Pressed(turn.t("tasks.stale_notice"), await _listing(turn, turn.user, services))
    await services.rest.update_task(turn.user.id, task_id, status=TaskStatus.done)
    await sync_if_on(services.rest, services.calendar, str(turn.user.id))
    after = await _listing(turn, turn.user, services)
    said = turn.t("tasks.completed", title=task.title)
    return Pressed(
        turn.t("tasks.completed_notice"), Reply(f"{said}\n\n{after.text}", after.buttons)
    )


async def _open_task(user: User, task_id: UUID, services: Services) -> Task | None:
    try:
        task = await services.rest.get_task(user.id, task_id)
    except NotFoundError:
        return None
    return task if task.status == TaskStatus.open else None


async def _listing(turn: Addressed, user: User, services: Services) -> Reply:
    tasks = await services.rest.list_tasks(user.id, status=TaskStatus.open, limit=TASKS_MAX)
    if not tasks:
        return Reply(turn.t("tasks.empty"))
    lines = "\n".join(_line(turn, n, task, services) for n, task in enumerate(tasks, 1))
    text = turn.t("tasks.list", count=len(tasks), tasks=Markdown(lines))
    return Reply(text, _buttons(turn, tasks))


def _line(turn: Addressed, n: int, task: Task, services: Services) -> str:
    mark = turn.t(_MARKS[task.priority]) if task.priority in _MARKS else ""
    due = ""
    if task.deadline is not None:
        moment = task.deadline.astimezone(user_zone(turn, services))
        due = turn.t("tasks.due", deadline=moment_text(turn, moment))
    return turn.t("tasks.item", n=n, mark=Markdown(mark), title=task.title, due=Markdown(due))


def _buttons(turn: Addressed, tasks: list[Task]) -> list[list[Any]]:
    buttons = [
        button(turn.t("tasks.complete", n=n), ButtonData(ButtonAction.TASK_COMPLETE, str(t.id)))
        for n, t in enumerate(tasks, 1)
    ]
    return [buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW)]


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.TASK_COMPLETE: complete_pressed}

COMMAND = Command("tasks", show_tasks)
