"""Google Tasks sync: the secretary's tasks (rest_service) and the user's default Google task
list kept in step (docs/decisions/0066-google-tasks-sync.md).

A task mirrors one Google task: title, notes, due date (Google keeps only the date) and done
or not. `plan` decides, from the tasks here and the Google tasks changed since the last read,
what to do on each side; `TaskSync` reads, plans and does it:

- a task changed here since it was last in step (`updated_at` after `google_synced_at`) is
  sent; one changed in Google (another `updated` than the one last in step) is taken; changed
  on both sides, the later change wins;
- a task deleted on one side is deleted on the other (a deletion here is kept in rest_service
  until Google has it);
- a failure to reach Google leaves every local change where it is, still to send: the next
  sync sends it, and the caller is told Google was unreachable.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from common.features.calendar_client import TaskSyncReport
from common.features.timezones import zone_or_default
from common.infrastructure.errors import ConflictError, NotFoundError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import (
    TASK_NOTES_MAX_CHARS,
    TASK_TITLE_MAX_CHARS,
    TASKS_MAX,
    Task,
    TaskGoogleLink,
    TaskStatus,
)
from google_calendar_service.src.clients.google import CalendarSession, GoogleCalendarClient
from google_calendar_service.src.clients.tasks import GoogleTasksClient
from google_calendar_service.src.domain.calendar import GoogleCalendarService
from google_calendar_service.src.errors import EventGoneError, GoogleUnavailableError
from google_calendar_service.src.settings import Settings

log = get_logger(__name__)

#: A due date taken from Google lands at this time of the user's day (Google keeps no time).
DUE_TIME = time(23, 59)
#: One sync of a user's at a time (seconds a dead holder keeps the lock).
LOCK_SECONDS = 120
UTC_ZONE = ZoneInfo("UTC")

Kind = Literal[
    "push_new", "push_change", "push_delete", "pull_new", "pull_change", "drop_here", "pair"
]


@dataclass(frozen=True)
class Step:
    kind: Kind
    task: Task | None = None
    remote: dict[str, Any] | None = None
    google_task_id: str | None = None


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    #: Where the next read starts: the latest `updated` read (Google's clock, not ours).
    updated_min: str | None = None


def dirty(task: Task) -> bool:
    """Changed here since last in step with Google."""
    return task.google_synced_at is None or task.updated_at > task.google_synced_at


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan(
    tasks: list[Task],
    remote: list[dict[str, Any]],
    deletions: list[str],
    *,
    full: bool,
    updated_min: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
) -> Plan:
    """What to do so both sides agree. `remote` is every Google task changed since the last
    read (deleted ones marked), or all of them when `full`.

    `tasks` is read before `deletions`: a task deleted here between the two reads is in both,
    and the deletion wins (its Google task is only deleted, never sent to or taken from).
    A task new here and a Google task new there that say the same are one task (linked, not
    copied both ways): an insert that reached Google whose link failed to save, or the same
    to-do kept on both sides before the first sync."""
    pending = set(deletions)
    mirrors = {t.google_task_id: t for t in tasks if t.google_task_id not in (None, *pending)}
    steps: list[Step] = []
    read = {r["id"] for r in remote}
    fresh: list[dict[str, Any]] = []
    for item in remote:
        task = mirrors.get(item["id"])
        if item["id"] in pending:
            continue
        if task is None:
            if not item.get("deleted"):
                fresh.append(item)
        elif item.get("deleted"):
            steps.append(Step("drop_here", task=task))
        elif item.get("updated") == task.google_updated or _local_wins(task, item):
            if dirty(task):
                steps.append(Step("push_change", task=task, google_task_id=item["id"]))
        else:
            steps.append(Step("pull_change", task=task, remote=item))
    for task in tasks:
        if task.google_task_id is None:
            twin = _twin(task, fresh, tz)
            if twin is None:
                steps.append(Step("push_new", task=task))
            else:
                fresh.remove(twin)
                steps.append(Step("pair", task=task, remote=twin))
        elif task.google_task_id in pending or task.google_task_id in read:
            continue
        elif full:  # Google no longer has it at all
            steps.append(Step("drop_here", task=task))
        elif dirty(task):
            steps.append(Step("push_change", task=task, google_task_id=task.google_task_id))
    steps += [Step("pull_new", remote=item) for item in fresh]
    steps += [Step("push_delete", google_task_id=g) for g in deletions]
    stamps = [r["updated"] for r in remote if r.get("updated")]
    latest = max(stamps, key=parse_stamp) if stamps else updated_min
    return Plan(steps, latest)


def _twin(task: Task, fresh: list[dict[str, Any]], tz: ZoneInfo) -> dict[str, Any] | None:
    """A Google task new to us that says what `task` says (title, notes, due date, done)."""
    said = _gist(to_google(task, tz))
    return next((item for item in fresh if _gist(item) == said), None)


def _gist(item: dict[str, Any]) -> tuple[object, ...]:
    return (
        item.get("title") or None,
        item.get("notes") or None,
        _due_date(item.get("due")),
        item.get("status") == "completed",
    )


def _local_wins(task: Task, item: dict[str, Any]) -> bool:
    """Changed on both sides: the later change wins (a tie goes to Google's)."""
    return dirty(task) and task.updated_at > parse_stamp(item["updated"])


# -- one task on either side ------------------------------------------------------------------


def to_google(task: Task, tz: ZoneInfo) -> dict[str, Any]:
    """The Google task body of a task: the due date is the deadline's date where the user
    lives, at midnight UTC as Google writes dates."""
    due = None
    if task.deadline is not None:
        due = task.deadline.astimezone(tz).date().isoformat() + "T00:00:00.000Z"
    done = task.status == TaskStatus.done
    return {
        "title": task.title,
        "notes": task.notes,
        "due": due,
        "status": "completed" if done else "needsAction",
        "completed": None if not done else _google_stamp(task.completed_at or task.updated_at),
    }


def from_google(item: dict[str, Any], tz: ZoneInfo, task: Task | None) -> dict[str, Any]:
    """The task fields a Google task says, only those that differ from `task`'s."""
    title = " ".join(str(item.get("title") or "").split())[:TASK_TITLE_MAX_CHARS] or "(untitled)"
    notes = str(item.get("notes") or "")[:TASK_NOTES_MAX_CHARS] or None
    wanted: dict[str, Any] = {
        "title": title,
        "notes": notes,
        "status": TaskStatus.done if item.get("status") == "completed" else TaskStatus.open,
    }
    due = _due_date(item.get("due"))
    here = task.deadline.astimezone(tz) if task and task.deadline else None
    if due is None:
        wanted["deadline"] = None
    elif here is None or here.date() != due:
        at = here.timetz() if here is not None else DUE_TIME.replace(tzinfo=tz)
        wanted["deadline"] = datetime.combine(due, at.replace(tzinfo=None), tz)
    else:
        wanted["deadline"] = task.deadline if task else None
    if task is None:
        return {k: v for k, v in wanted.items() if v is not None}
    return {k: v for k, v in wanted.items() if getattr(task, k) != v}


def _due_date(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    return parse_stamp(value).date()


def _google_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- doing it ---------------------------------------------------------------------------------


@dataclass
class _Tally:
    pushed: int = 0
    pulled: int = 0
    deleted_here: int = 0
    deleted_there: int = 0
    skipped: int = 0


class TaskSync:
    """Turns a user's sync on or off and runs it, one run per user at a time."""

    def __init__(
        self,
        settings: Settings,
        calendar: GoogleCalendarService,
        rest: RestClient,
        redis: Redis,
        lock_key: str,
    ) -> None:
        self._calendar = calendar
        self._rest = rest
        self._redis = redis
        self._lock_key = lock_key
        self._google = GoogleTasksClient(GoogleCalendarClient(settings), settings)
        self._default_zone = settings.default_timezone

    async def turn_on(self, user_id: str) -> TaskSyncReport:
        """On, then a first sync; a connection without tasks access answers 409 with the
        link (sync stays on and starts once access is granted and confirmed)."""
        await self._rest.set_task_sync(user_id, enabled=True)
        return await self.run(user_id)

    async def turn_off(self, user_id: str) -> TaskSyncReport:
        await self._rest.set_task_sync(user_id, enabled=False)
        return TaskSyncReport(enabled=False)

    async def run(self, user_id: str) -> TaskSyncReport:
        """A sync if the user turned it on; nothing reaches Google otherwise."""
        state = await self._rest.get_task_sync(user_id)
        if not state.enabled:
            return TaskSyncReport(enabled=False)
        key = f"{self._lock_key}:{user_id}"
        async with self._redis.lock(key, timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
            state = await self._rest.get_task_sync(user_id)
            tally = _Tally()
            try:
                async with self._calendar.connected(user_id, "tasks") as (_, user, stored):
                    tz = zone_or_default(user.timezone, self._default_zone)
                    async with self._google.session(stored.credentials) as session:
                        await self._sync(user_id, session, state.updated_min, tz, tally)
            except GoogleUnavailableError as exc:
                log.warning("google_tasks_unreachable", user_id=user_id, error=str(exc))
                return TaskSyncReport(enabled=True, unreachable=True, **vars(tally))
        return TaskSyncReport(enabled=True, **vars(tally))

    async def _sync(
        self,
        user_id: str,
        session: CalendarSession,
        updated_min: str | None,
        tz: ZoneInfo,
        tally: _Tally,
    ) -> None:
        remote = await self._google.list_tasks(session, updated_min)
        tasks = await self._rest.list_tasks(user_id, limit=TASKS_MAX)  # all: at most that
        deletions = (await self._rest.get_task_sync(user_id)).deletions  # after the tasks
        full = updated_min is None
        steps = plan(tasks, remote, deletions, full=full, updated_min=updated_min, tz=tz)
        for step in steps.steps:
            await self._do(user_id, session, step, tz, tally)
        if steps.updated_min is not None and steps.updated_min != updated_min:
            await self._rest.set_task_sync(user_id, updated_min=steps.updated_min)

    async def _do(
        self, user_id: str, session: CalendarSession, step: Step, tz: ZoneInfo, tally: _Tally
    ) -> None:
        if step.kind == "push_delete":
            assert step.google_task_id is not None
            await self._gone_there(session, step.google_task_id)
            await self._rest.forget_google_deletion(user_id, step.google_task_id)
            tally.deleted_there += 1
        elif step.kind == "push_new":
            assert step.task is not None
            made = await self._google.insert(session, _present(to_google(step.task, tz)))
            if await self._link(user_id, step.task, made):
                tally.pushed += 1
            else:  # deleted here meanwhile: nothing of it stays in Google
                await self._gone_there(session, made["id"])
        elif step.kind == "push_change":
            assert step.task is not None and step.google_task_id is not None
            await self._push_change(user_id, session, step.task, step.google_task_id, tz, tally)
        elif step.kind == "pair":
            assert step.task is not None and step.remote is not None
            if not await self._link(user_id, step.task, step.remote):
                await self._gone_there(session, step.remote["id"])
        elif step.kind == "drop_here":
            assert step.task is not None
            await self._rest.delete_task(user_id, step.task.id, from_google=True)
            tally.deleted_here += 1
        else:
            assert step.remote is not None
            await self._pull(user_id, step.task, step.remote, tz, tally)

    async def _push_change(
        self,
        user_id: str,
        session: CalendarSession,
        task: Task,
        google_task_id: str,
        tz: ZoneInfo,
        tally: _Tally,
    ) -> None:
        try:
            patched = await self._google.patch(session, google_task_id, to_google(task, tz))
        except (NotFoundError, EventGoneError):  # deleted in Google: deleted here too
            await self._rest.delete_task(user_id, task.id, from_google=True)
            tally.deleted_here += 1
            return
        if await self._link(user_id, task, patched):  # else deleted here meanwhile: its
            tally.pushed += 1  # deletion is on the list to send

    async def _pull(
        self, user_id: str, task: Task | None, item: dict[str, Any], tz: ZoneInfo, tally: _Tally
    ) -> None:
        fields = from_google(item, tz, task)
        try:
            if task is None:
                task = await self._rest.create_task(
                    user_id,
                    fields.pop("title"),
                    notes=fields.get("notes"),
                    deadline=fields.get("deadline"),
                    idempotency_key=f"google-task:{user_id}:{item['id']}"[:255],
                )
                if fields.get("status") == TaskStatus.done:
                    task = await self._rest.update_task(user_id, task.id, status=TaskStatus.done)
            elif fields:
                task = await self._rest.update_task(user_id, task.id, **fields)
        except (ConflictError, ValidationFailedError) as exc:  # the cap, or a field refused
            log.info("google_task_not_taken", user_id=user_id, error=type(exc).__name__)
            tally.skipped += 1
            return
        except NotFoundError:  # deleted here meanwhile: its deletion is on the list to send
            return
        if await self._link(user_id, task, item):
            tally.pulled += 1

    async def _link(self, user_id: str, task: Task, item: dict[str, Any]) -> bool:
        """Marked in step with `item`; False when the task was deleted here meanwhile."""
        link = TaskGoogleLink(
            google_task_id=item["id"], google_updated=item["updated"], synced_at=task.updated_at
        )
        try:
            await self._rest.link_task_to_google(user_id, task.id, link)
        except NotFoundError:
            return False
        return True

    async def _gone_there(self, session: CalendarSession, google_task_id: str) -> None:
        with contextlib.suppress(NotFoundError, EventGoneError):  # deleted there already
            await self._google.delete(session, google_task_id)


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
