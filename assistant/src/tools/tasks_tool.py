"""`tasks`: the user's to-do list, kept in rest_service: add, list, complete, reopen, delete
and update a task (title, notes, deadline, priority). A list is by priority (high first), then
deadline (none last); `within_days` keeps those due within that many days ("what's on my plate
this week").

A deadline is read as a reminder's moment is (`when.resolve_moment`, in the user's zone: an
unclear phrase is a question back); `remind` puts a reminder at the deadline, `remind_at` at
another moment, made as the reminder tool makes one (`new_reminder`) and linked to the task:
completing or deleting the task cancels it (rest_service does). Tasks are the speaker's own and
private: in a group the tool refuses. Writes pass the call's idempotency key, so a redelivered
message adds one task.

`google_on` / `google_off` turn Google Tasks sync on or off (on answers the link when Google
Tasks is not allowed yet); with sync on, every action syncs after it, and a Google that cannot
be reached is told to the model to say, never an error."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.reminder_tool import new_reminder, user_zone
from assistant.src.tools.when import local, resolve_moment, zone
from common.features.calendar_client import CalendarNotConnected, TaskSyncReport
from common.features.google_tasks import sync_if_on
from common.infrastructure.errors import (
    AppError,
    ConflictError,
    NotFoundError,
    ValidationFailedError,
)
from common.infrastructure.wire import (
    TASK_NOTES_MAX_CHARS,
    TASK_TITLE_MAX_CHARS,
    TASKS_MAX,
    Task,
    TaskPriority,
    TaskStatus,
)

GROUP_REFUSAL = (
    "tasks are private: they are neither kept nor shown in a group chat; tell the user to ask "
    "you in a private chat"
)
#: The longest look ahead of a list ("this year").
MAX_WITHIN_DAYS = 366
#: What a task's reminder says when it fires.
REMINDER_PREFIX = "Task: "
_WRITES = ("add", "complete", "reopen", "delete", "update", "google_on", "google_off")
#: What the model is told when Google Tasks could not be reached after a change.
UNREACHABLE_NOTE = (
    "Google Tasks could not be reached: the change is saved here and reaches Google at the "
    "next sync. Tell the user so."
)


class TasksTool(BaseTool, tool_type="tasks"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return arguments.get("action") in _WRITES

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        if call.actor.is_group:
            raise ToolError(GROUP_REFUSAL)
        if not call.actor.registered:
            raise ToolError("this user is not registered yet: no tasks can be kept")
        actions = {
            "add": self._add,
            "list": self._list,
            "complete": self._complete,
            "reopen": self._reopen,
            "delete": self._delete,
            "update": self._update,
            "google_on": self._google_on,
            "google_off": self._google_off,
        }
        action = actions.get(str(arguments.get("action") or "").strip().lower())
        if action is None:
            raise ToolError(
                "unknown action: use add, list, complete, reopen, delete, update, google_on or "
                "google_off"
            )
        if action == self._list:  # what changed in Google shows in the list
            return self._with(await self._sync(call), await self._list(arguments, call))
        try:
            result = await action(arguments, call)
        except ConflictError as exc:
            raise ToolError(
                f"the user has {TASKS_MAX} tasks, the most kept: ask which to delete first"
            ) from exc
        except ValidationFailedError as exc:
            raise ToolError(f"rest_service refused: {exc.detail}") from exc
        if action in (self._google_on, self._google_off):
            return result
        return self._with(await self._sync(call), result)

    async def _sync(self, call: ToolCallOrigin) -> TaskSyncReport:
        return await sync_if_on(self.services.rest, self.services.calendar, str(call.actor.user_id))

    @staticmethod
    def _with(report: TaskSyncReport, result: Any) -> Any:
        """With Google Tasks sync on, the result says whether Google is in step; Google
        unreachable is said, never an error."""
        if not report.enabled:
            return result
        if report.unreachable:
            return {**result, "google_tasks": UNREACHABLE_NOTE}
        return {**result, "google_tasks": "in step"}

    # -- Google Tasks sync -----------------------------------------------------------------

    async def _google_on(self, _arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        try:
            report = await self.services.calendar.turn_task_sync(str(call.actor.user_id), on=True)
        except CalendarNotConnected as exc:
            return {
                "status": "needs_access",
                "auth_url": exc.auth_url,
                "note": "give the user this link to allow Google Tasks (and to confirm it "
                "with /calendar confirm); sync starts then",
            }
        except AppError as exc:
            raise ToolError("Google Tasks cannot be reached now: say so, try later") from exc
        if report.unreachable:
            return {"status": "sync_on", "google_tasks": UNREACHABLE_NOTE}
        return {"status": "sync_on", "sent": report.pushed, "taken": report.pulled}

    async def _google_off(self, _arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        try:
            await self.services.calendar.turn_task_sync(str(call.actor.user_id), on=False)
        except AppError as exc:
            raise ToolError("Google Tasks sync cannot be turned off now: try later") from exc
        return {"status": "sync_off", "note": "both lists stay as they are"}

    # -- add and list ----------------------------------------------------------------------

    async def _add(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        title = _title(arguments.get("title"))
        if not title:
            raise ToolError("action 'add' needs 'title': what is to be done, in a few words")
        now, zone_name, assumed = await self._now(call)
        deadline = _moment(arguments.get("deadline"), now)
        reminder = await self._reminder(arguments, call, title, deadline, now, zone_name)
        task = await self.services.rest.create_task(
            call.actor.user_id,
            title,
            notes=_notes(arguments.get("notes")),
            deadline=deadline,
            priority=_priority(arguments.get("priority")),
            reminder_job_id=reminder,
            idempotency_key=call.idempotency_key,
        )
        result = {"status": "added", **_summary(task, zone_name)}
        if reminder is not None and assumed:
            result["timezone_note"] = (
                f"The user has never set a timezone, so {zone_name} was assumed for the "
                "reminder. Say so, and that /timezone sets theirs."
            )
        return result

    async def _list(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        status = _status_filter(arguments.get("status"))
        now, zone_name, _ = await self._now(call)
        due_before = _due_before(arguments.get("within_days"), now)
        tasks = await self.services.rest.list_tasks(
            call.actor.user_id, status=status, due_before=due_before, limit=TASKS_MAX
        )
        items = [_summary(task, zone_name) for task in tasks]
        if not items:
            return {"tasks": [], "note": "no tasks match: the list is empty"}
        return {
            "tasks": items,
            "order": "by priority (high first), then deadline (soonest first, none last)",
        }

    # -- complete, reopen, delete, update ------------------------------------------------------

    async def _complete(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        task = await self._own(arguments, call, TaskStatus.open)
        had_reminder = task.reminder_job_id is not None
        done = await self.services.rest.update_task(
            call.actor.user_id, task.id, status=TaskStatus.done
        )
        result = {"status": "completed", **_summary(done, await self._zone(call))}
        if had_reminder:
            result["note"] = "its reminder is cancelled"
        return result

    async def _reopen(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        task = await self._own(arguments, call, TaskStatus.done)
        opened = await self.services.rest.update_task(
            call.actor.user_id, task.id, status=TaskStatus.open
        )
        return {"status": "reopened", **_summary(opened, await self._zone(call))}

    async def _delete(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        task = await self._own(arguments, call, None)
        if not await self.services.rest.delete_task(call.actor.user_id, task.id):
            raise ToolError("no such task (deleted already?): action 'list' shows them")
        return {"status": "deleted", "task_id": str(task.id), "title": task.title}

    async def _update(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """A new title, notes, deadline, priority or reminder; what is not given stays. A
        new deadline moves the task's reminder with it."""
        task = await self._own(arguments, call, None)
        now, zone_name, _ = await self._now(call)
        changes: dict[str, Any] = {}
        if title := _title(arguments.get("new_title")):
            changes["title"] = title
        if arguments.get("notes") is not None:
            changes["notes"] = _notes(arguments["notes"])
        if arguments.get("priority") is not None:
            changes["priority"] = _priority(arguments["priority"])
        deadline = _moment(arguments.get("deadline"), now)
        if deadline is not None:
            changes["deadline"] = deadline
        moves = deadline is not None and task.reminder_job_id is not None
        wanted = {**arguments, "remind": arguments.get("remind") or moves}
        reminder = await self._reminder(
            wanted,
            call,
            changes.get("title", task.title),
            deadline or task.deadline,
            now,
            zone_name,
        )
        if reminder is not None:
            changes["reminder_job_id"] = reminder
        if not changes:
            raise ToolError(
                "nothing to change: give new_title, notes, deadline, priority, remind or remind_at"
            )
        updated = await self.services.rest.update_task(call.actor.user_id, task.id, **changes)
        return {"status": "updated", **_summary(updated, zone_name)}

    # -- finding the task, the reminder, the user's zone -----------------------------------

    async def _own(
        self, arguments: dict[str, Any], call: ToolCallOrigin, status: TaskStatus | None
    ) -> Task:
        """The user's task by `task_id`, else the one (of `status`) whose title has `title`."""
        raw_id = str(arguments.get("task_id") or "").strip()
        if raw_id:
            return await self._by_id(raw_id, call)
        words = _title(arguments.get("title")).casefold()
        if not words:
            raise ToolError("which task? pass task_id (action 'list' shows them) or its title")
        tasks = await self.services.rest.list_tasks(
            call.actor.user_id, status=status, limit=TASKS_MAX
        )
        exact = [t for t in tasks if t.title.casefold() == words]
        found = exact or [t for t in tasks if words in t.title.casefold()]
        if len(found) == 1:
            return found[0]
        if not found:
            raise ToolError(f"no task matches {words!r}: action 'list' shows them")
        listed = "; ".join(f"{t.id}: {t.title}" for t in found[:10])
        raise ToolError(f"{len(found)} tasks match, ask which one (or pass task_id): {listed}")

    async def _by_id(self, raw_id: str, call: ToolCallOrigin) -> Task:
        try:
            return await self.services.rest.get_task(call.actor.user_id, UUID(raw_id))
        except (ValueError, NotFoundError):
            raise ToolError(
                f"the user has no task {raw_id[:60]!r} (action 'list' shows them)"
            ) from None

    async def _reminder(
        self,
        arguments: dict[str, Any],
        call: ToolCallOrigin,
        title: str,
        deadline: datetime | None,
        now: datetime,
        zone_name: str,
    ) -> UUID | None:
        """The reminder asked for: at `remind_at`, or (`remind`) at the deadline."""
        at = _moment(arguments.get("remind_at"), now)
        if at is None and _yes(arguments.get("remind")):
            if deadline is None:
                raise ToolError("a reminder at the deadline needs a deadline: ask when it is due")
            at = deadline
        if at is None:
            return None
        job = await new_reminder(
            self.services, call, f"{REMINDER_PREFIX}{title}", zone_name, run_at=at
        )
        return job.id

    async def _now(self, call: ToolCallOrigin) -> tuple[datetime, str, bool]:
        """Now in the user's zone, the zone's name, and whether it was assumed."""
        zone_name, assumed = await user_zone(self.services, call)
        tz = zone(zone_name)
        return self.services.clock().astimezone(tz), str(tz), assumed

    async def _zone(self, call: ToolCallOrigin) -> str:
        return (await self._now(call))[1]


def _title(value: object) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > TASK_TITLE_MAX_CHARS:
        raise ToolError(
            f"the title has {len(text)} characters, at most {TASK_TITLE_MAX_CHARS}: put the "
            "rest in 'notes'"
        )
    return text


def _notes(value: object) -> str | None:
    text = str(value or "").strip()
    if len(text) > TASK_NOTES_MAX_CHARS:
        raise ToolError(f"notes have {len(text)} characters, at most {TASK_NOTES_MAX_CHARS}")
    return text or None


def _priority(value: object) -> TaskPriority | None:
    """low, normal or high in any case; None when not given (the server's normal)."""
    if value is None or value == "":
        return None
    try:
        return TaskPriority(str(value).strip().lower())
    except ValueError:
        raise ToolError(f"priority {str(value)[:30]!r}: use low, normal or high") from None


def _status_filter(value: object) -> TaskStatus | None:
    """Open by default; `all` for both."""
    text = str(value or "open").strip().lower()
    if text == "all":
        return None
    try:
        return TaskStatus(text)
    except ValueError:
        raise ToolError("status must be open, done or all") from None


def _due_before(value: object, now: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("within_days must be a whole number of days")
    if not 1 <= value <= MAX_WITHIN_DAYS:
        raise ToolError(f"within_days must be between 1 and {MAX_WITHIN_DAYS}")
    return now + timedelta(days=int(value))


def _moment(value: object, now: datetime) -> datetime | None:
    if value is None or str(value).strip() == "":
        return None
    tz = now.tzinfo
    return resolve_moment(str(value), zone(str(tz)), now)


def _yes(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def _summary(task: Task, zone_name: str) -> dict[str, Any]:
    tz = zone(zone_name)
    return {
        "task_id": str(task.id),
        "title": task.title,
        "notes": task.notes,
        "priority": str(task.priority),
        "deadline": local(task.deadline.astimezone(tz)) if task.deadline else None,
        "task_status": str(task.status),
        "has_reminder": task.reminder_job_id is not None,
    }
