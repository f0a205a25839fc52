"""The Google stand-in's Tasks v1: each account's task lists, served beside Calendar v3 by
sandbox.google_api's app (`add_routes`).

Routes, as Google names them, under `/tasks/v1/`: `users/@me/lists` (tasklists.list) and
`lists/{tasklist}/tasks` (tasks.list with showCompleted, showDeleted, showHidden, updatedMin,
maxResults and pageToken; tasks.insert), `lists/{tasklist}/tasks/{task}` (tasks.patch,
tasks.delete). `@default` is the account's first list. Each call needs a token granted the
tasks scope (403 insufficientPermissions otherwise, as Google answers). Bodies sent and
answered are checked against Tasks v1's discovery document (sandbox.google_schema). A deleted
task is kept with `deleted: true`, shown only with showDeleted, as Google does.

Control routes under `/_sandbox/tasks/{email}` stand for the user's own edits in Google
(add, change, complete, delete) and show the list as Google holds it.
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from sandbox.google_mail import json_body
from sandbox.google_schema import SchemaDriftError, validate
from sandbox.google_state import ApiError, GoogleState, parse_rfc3339

API = "tasks.v1"
TASKS_SCOPE = "https://www.googleapis.com/auth/tasks"
READ_SCOPES = frozenset({TASKS_SCOPE, "https://www.googleapis.com/auth/tasks.readonly"})
#: What a client may write; the rest is Google's (read-only in the discovery document).
_WRITABLE = frozenset({"title", "notes", "due", "status", "completed", "deleted", "hidden", "id"})
_STATUSES = ("needsAction", "completed")
_PAGE_DEFAULT, _PAGE_MAX = 20, 100


def _stamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass
class TaskList:
    id: str
    title: str
    updated: str
    #: Every task ever made here by id, deleted ones too (`deleted: true`), in order made.
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self) -> dict[str, Any]:
        return {
            "kind": "tasks#taskList",
            "id": self.id,
            "etag": f'"{self.updated}"',
            "title": self.title,
            "updated": self.updated,
            "selfLink": f"https://www.googleapis.com/tasks/v1/users/@me/lists/{self.id}",
        }


class GoogleTasks:
    """Every account's task lists; `updated` stamps only ever grow, as Google's do."""

    def __init__(self) -> None:
        self.lists: dict[str, list[TaskList]] = {}
        self._last = datetime(2000, 1, 1, tzinfo=UTC)

    def now(self) -> str:
        moment = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        self._last = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        return _stamp(self._last)

    def lists_of(self, email: str) -> list[TaskList]:
        found = self.lists.setdefault(email, [])
        if not found:
            found.append(TaskList(_new_id(), "My Tasks", self.now()))
        return found

    def task_list(self, email: str, list_id: str) -> TaskList:
        owned = self.lists_of(email)
        if list_id == "@default":
            return owned[0]
        for task_list in owned:
            if task_list.id == list_id:
                return task_list
        raise ApiError(404, "notFound", "Task list not found.")

    def insert(self, email: str, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _check_body(body)
        task_list = self.task_list(email, list_id)
        task = {"kind": "tasks#task", "id": _new_id(), "status": "needsAction"}
        task.update({k: v for k, v in body.items() if k in _WRITABLE and k != "id"})
        task["position"] = f"{len(task_list.tasks):020d}"
        return self._stored(task_list, task)

    def patch(self, email: str, list_id: str, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _check_body(body)
        task_list = self.task_list(email, list_id)
        task = self._existing(task_list, task_id)
        changes = {k: v for k, v in body.items() if k in _WRITABLE and k != "id"}
        task.update(changes)
        for name in [k for k, v in changes.items() if v is None]:
            task.pop(name)
        return self._stored(task_list, task)

    def delete(self, email: str, list_id: str, task_id: str) -> None:
        task_list = self.task_list(email, list_id)
        task = self._existing(task_list, task_id)
        task["deleted"] = True
        self._stored(task_list, task)

    def list_tasks(self, email: str, list_id: str, params: dict[str, str]) -> dict[str, Any]:
        task_list = self.task_list(email, list_id)
        query = _Query.parse(params)
        shown = [t for t in task_list.tasks.values() if query.shows(t)]
        page = shown[query.offset : query.offset + query.size]
        answer: dict[str, Any] = {"kind": "tasks#tasks", "etag": f'"{task_list.updated}"'}
        answer["items"] = page
        if query.offset + query.size < len(shown):
            answer["nextPageToken"] = f"p{query.offset + query.size}"
        validate("Tasks", answer, API)
        return answer

    def _existing(self, task_list: TaskList, task_id: str) -> dict[str, Any]:
        task = task_list.tasks.get(task_id)
        if task is None or task.get("deleted"):
            raise ApiError(404, "notFound", "Task not found.")
        return task

    def _stored(self, task_list: TaskList, task: dict[str, Any]) -> dict[str, Any]:
        task["updated"] = task_list.updated = self.now()
        if task["status"] == "completed":
            task.setdefault("completed", task["updated"])
        else:
            task.pop("completed", None)
        task["etag"] = f'"{task["updated"]}"'
        task["selfLink"] = (
            f"https://www.googleapis.com/tasks/v1/lists/{task_list.id}/tasks/{task['id']}"
        )
        task["webViewLink"] = f"https://tasks.google.com/task/{task['id']}"
        validate("Task", task, API)
        task_list.tasks[task["id"]] = task
        return dict(task)


@dataclass(frozen=True)
class _Query:
    show_completed: bool
    show_deleted: bool
    show_hidden: bool
    updated_min: datetime | None
    size: int
    offset: int

    @classmethod
    def parse(cls, params: dict[str, str]) -> _Query:
        size = int(params.get("maxResults", _PAGE_DEFAULT))
        if not 1 <= size <= _PAGE_MAX:
            raise ApiError(400, "invalid", f"Invalid value for maxResults: {size}")
        token = params.get("pageToken") or "p0"
        if not token.startswith("p") or not token[1:].isdigit():
            raise ApiError(400, "invalid", "Invalid page token.")
        since = params.get("updatedMin")
        return cls(
            show_completed=_flag(params, "showCompleted", default=True),
            show_deleted=_flag(params, "showDeleted", default=False),
            show_hidden=_flag(params, "showHidden", default=False),
            updated_min=parse_rfc3339(since) if since else None,
            size=size,
            offset=int(token[1:]),
        )

    def shows(self, task: dict[str, Any]) -> bool:
        if task.get("deleted") and not self.show_deleted:
            return False
        if task.get("hidden") and not self.show_hidden:
            return False
        if task["status"] == "completed" and not self.show_completed:
            return False
        return self.updated_min is None or parse_rfc3339(task["updated"]) >= self.updated_min


def _flag(params: dict[str, str], name: str, *, default: bool) -> bool:
    return params.get(name, str(default)).lower() == "true"


def _new_id() -> str:
    return secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


def _check_body(body: dict[str, Any]) -> None:
    """A body Google would refuse is a 400, as Google answers it."""
    try:  # a null clears a field (patch): only the values given have a type to check
        validate("Task", {k: v for k, v in body.items() if v is not None}, API)
        if body.get("due") is not None:
            parse_rfc3339(str(body["due"]))
    except (SchemaDriftError, ValueError) as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    if "status" in body and body["status"] not in _STATUSES:
        raise ApiError(400, "invalid", f"Invalid value for status: {body['status']}")
    if "title" in body and len(str(body["title"] or "")) > 1024:
        raise ApiError(400, "invalid", "Title too long.")


# -- the state beside GoogleState, and HTTP ----------------------------------------------------

_TASKS: weakref.WeakKeyDictionary[GoogleState, GoogleTasks] = weakref.WeakKeyDictionary()


def tasks_of(state: GoogleState) -> GoogleTasks:
    """The Tasks accounts of one stand-in."""
    found = _TASKS.get(state)
    if found is None:
        found = _TASKS[state] = GoogleTasks()
    return found


def _account(request: web.Request, *, write: bool) -> tuple[GoogleTasks, str]:
    """The caller's account, refused with 403 when the token was not granted tasks."""
    from sandbox.google_api import STATE_KEY

    state = request.app[STATE_KEY]
    email = state.authenticate(request.headers.get("Authorization"))
    token = request.headers["Authorization"].removeprefix("Bearer ").strip()
    granted = set(state.tokens[token].scopes)
    if TASKS_SCOPE not in granted and (write or not granted & READ_SCOPES):
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
    return tasks_of(state), email


async def tasklists_list(request: web.Request) -> web.Response:
    tasks, email = _account(request, write=False)
    answer = {"kind": "tasks#taskLists", "items": [t.resource() for t in tasks.lists_of(email)]}
    validate("TaskLists", answer, API)
    return web.json_response(answer)


async def tasks_list(request: web.Request) -> web.Response:
    tasks, email = _account(request, write=False)
    list_id = request.match_info["tasklist"]
    return web.json_response(tasks.list_tasks(email, list_id, dict(request.query)))


async def tasks_insert(request: web.Request) -> web.Response:
    tasks, email = _account(request, write=True)
    body = await json_body(request)
    return web.json_response(tasks.insert(email, request.match_info["tasklist"], body))


async def tasks_patch(request: web.Request) -> web.Response:
    tasks, email = _account(request, write=True)
    body = await json_body(request)
    where = request.match_info
    return web.json_response(tasks.patch(email, where["tasklist"], where["task"], body))


async def tasks_delete(request: web.Request) -> web.Response:
    tasks, email = _account(request, write=True)
    tasks.delete(email, request.match_info["tasklist"], request.match_info["task"])
    return web.Response(status=204)


# -- control: the user's own edits in Google ---------------------------------------------------


def _control(request: web.Request) -> tuple[GoogleTasks, str]:
    from sandbox.google_api import STATE_KEY

    return tasks_of(request.app[STATE_KEY]), request.match_info["email"]


async def control_tasks(request: web.Request) -> web.Response:
    tasks, email = _control(request)
    return web.json_response(list(tasks.task_list(email, "@default").tasks.values()))


async def control_add(request: web.Request) -> web.Response:
    tasks, email = _control(request)
    return web.json_response(tasks.insert(email, "@default", await json_body(request)))


async def control_change(request: web.Request) -> web.Response:
    tasks, email = _control(request)
    body = await json_body(request)
    return web.json_response(tasks.patch(email, "@default", request.match_info["task"], body))


async def control_delete(request: web.Request) -> web.Response:
    tasks, email = _control(request)
    tasks.delete(email, "@default", request.match_info["task"])
    return web.json_response({"deleted": True})


def add_routes(app: web.Application) -> None:
    """Tasks v1 and its control routes, named as google_api's middleware expects (a name
    starting `_` is not an API call: no faults, not recorded)."""
    lists, tasks = "/tasks/v1/users/@me/lists", "/tasks/v1/lists/{tasklist}/tasks"
    control = "/_sandbox/tasks/{email}"
    for method, path, handler, name in (
        ("GET", lists, tasklists_list, "tasklists.list"),
        ("GET", tasks, tasks_list, "tasks.list"),
        ("POST", tasks, tasks_insert, "tasks.insert"),
        ("PATCH", f"{tasks}/{{task}}", tasks_patch, "tasks.patch"),
        ("DELETE", f"{tasks}/{{task}}", tasks_delete, "tasks.delete"),
        ("GET", control, control_tasks, "_tasks"),
        ("POST", control, control_add, "_tasks_add"),
        ("PATCH", f"{control}/{{task}}", control_change, "_tasks_change"),
        ("DELETE", f"{control}/{{task}}", control_delete, "_tasks_delete"),
    ):
        app.router.add_route(method, path, handler, name=name)
