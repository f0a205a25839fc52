"""Tasks v1: the stand-in served at the discovery document's paths and answering its
schemas; our client against it (pages, updatedMin, deleted tasks, retries, a token without
the tasks scope refused as Google refuses it)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from google.oauth2.credentials import Credentials

from common.infrastructure.errors import NotFoundError
from google_calendar_service.src.clients.google import CalendarSession, GoogleCalendarClient
from google_calendar_service.src.clients.tasks import GoogleTasksClient
from google_calendar_service.src.errors import GoogleAuthRejectedError, GoogleUnavailableError
from google_calendar_service.src.settings import SCOPES, Settings
from google_calendar_service.tests.test_google_client import settings_for
from sandbox.google_api import GoogleStandIn, create_app
from sandbox.google_schema import discovery_document, method, validate
from sandbox.google_state import AccessToken
from sandbox.google_tasks import TASKS_SCOPE, tasks_of

API = "tasks.v1"
METHODS = [
    ("tasklists", "list", "tasklists.list"),
    ("tasks", "list", "tasks.list"),
    ("tasks", "insert", "tasks.insert"),
    ("tasks", "patch", "tasks.patch"),
    ("tasks", "delete", "tasks.delete"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.mark.parametrize(("resource", "name", "route"), METHODS)
def test_each_tasks_route_is_where_discovery_says_with_its_method(
    resource: str, name: str, route: str
) -> None:
    described = method(resource, name, API)
    served = create_app().router[route]
    assert discovery_document(API)["servicePath"] == ""
    assert _shape(served.canonical) == _shape(f"/{described['path']}")
    assert [r for r in served if r.method == described["httpMethod"]]


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    async with GoogleStandIn() as stand_in:
        yield stand_in


def _token(google: GoogleStandIn, scopes: list[str]) -> tuple[str, str]:
    email, token = f"{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex
    google.state.tokens[token] = AccessToken(email, scopes, 4_000_000_000, None)
    return email, token


@pytest.fixture
async def http(google: GoogleStandIn) -> AsyncIterator[httpx.AsyncClient]:
    _, token = _token(google, [*SCOPES, TASKS_SCOPE])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{google.url}/tasks/v1", headers=headers) as client:
        yield client


async def test_answers_follow_the_discovery_document_and_bad_bodies_are_400(
    http: httpx.AsyncClient,
) -> None:
    path = "/lists/@default/tasks"
    made = await http.post(path, json={"title": "Buy milk", "due": "2030-01-05T00:00:00Z"})
    validate("Task", made.json(), API)
    lists = (await http.get("/users/@me/lists")).json()
    validate("TaskLists", lists, API)
    validate("Tasks", (await http.get(path)).json(), API)
    for body in ({"title": 5}, {"invented": 1}, {"status": "done"}, {"due": "tomorrow"}):
        refused = await http.post(path, json=body)
        assert refused.status_code == 400, body
    assert (await http.post(path, content=b"{")).status_code == 400
    assert (await http.post(path, json=[1])).status_code == 400
    assert (await http.get("/lists/nope/tasks")).status_code == 404
    assert (await http.get(path, params={"maxResults": 0})).status_code == 400
    assert (await http.get(path, params={"pageToken": "x"})).status_code == 400
    other = made.json()["id"]
    assert (await http.get(f"/lists/{lists['items'][0]['id']}/tasks")).json()["items"][0][
        "id"
    ] == other


async def test_a_token_without_the_tasks_scope_is_403_as_google_says_it(
    google: GoogleStandIn,
) -> None:
    _, calendar_only = _token(google, list(SCOPES))
    _, read_only = _token(google, ["https://www.googleapis.com/auth/tasks.readonly"])
    async with httpx.AsyncClient(base_url=f"{google.url}/tasks/v1") as http:
        for token, verb, status in (
            (calendar_only, "GET", 403),
            (read_only, "GET", 200),
            (read_only, "POST", 403),
        ):
            headers = {"Authorization": f"Bearer {token}"}
            answer = await http.request(
                verb, "/lists/@default/tasks", headers=headers, json={"title": "x"}
            )
            assert answer.status_code == status, (verb, answer.text)
        refused = answer.json()["error"]
    assert refused["errors"][0]["reason"] == "insufficientPermissions"


def _settings(google: GoogleStandIn) -> Settings:
    return settings_for(google)


@pytest.fixture
async def client(
    google: GoogleStandIn,
) -> AsyncIterator[tuple[GoogleTasksClient, CalendarSession, str]]:
    email, token = _token(google, [*SCOPES, TASKS_SCOPE])
    settings = _settings(google)
    tasks = GoogleTasksClient(GoogleCalendarClient(settings), settings)
    async with tasks.session(Credentials(token)) as session:
        yield tasks, session, email


async def test_the_client_inserts_pages_reads_changes_since_and_sees_deletions(
    google: GoogleStandIn, client: tuple[GoogleTasksClient, CalendarSession, str]
) -> None:
    tasks, session, email = client
    assert [t["title"] for t in await tasks.task_lists(session)] == ["My Tasks"]
    made = [await tasks.insert(session, {"title": f"task {n}"}) for n in range(105)]
    everything = await tasks.list_tasks(session, None)
    assert [t["title"] for t in everything] == [f"task {n}" for n in range(105)]
    assert len(google.state.operations("tasks.list")) == 2  # 100 a page
    done = await tasks.patch(session, made[3]["id"], {"status": "completed"})
    assert done["status"] == "completed" and "completed" in done
    await tasks.delete(session, made[4]["id"])
    since = await tasks.list_tasks(session, done["updated"])
    assert [(t["title"], t.get("deleted", False)) for t in since] == [
        ("task 3", False),
        ("task 4", True),
    ]
    reopened = await tasks.patch(session, made[3]["id"], {"status": "needsAction", "due": None})
    assert "completed" not in reopened
    with pytest.raises(NotFoundError):
        await tasks.patch(session, made[4]["id"], {"title": "x"})
    with pytest.raises(NotFoundError):
        await tasks.delete(session, "never-there")
    assert len(tasks_of(google.state).task_list(email, "@default").tasks) == 105


async def test_the_client_retries_google_s_busy_answers_then_says_unavailable(
    google: GoogleStandIn, client: tuple[GoogleTasksClient, CalendarSession, str]
) -> None:
    tasks, session, _ = client
    google.state.queue_fault("tasks.insert", 503, count=2)
    made = await tasks.insert(session, {"title": "after two 503s"})
    assert made["title"] == "after two 503s"
    assert [s.status for s in google.state.operations("tasks.insert")] == [503, 503, 200]
    google.state.queue_fault("tasks.list", 429, count=100)
    with pytest.raises(GoogleUnavailableError):
        await tasks.list_tasks(session, None)
    assert len(google.state.operations("tasks.list")) == 5  # GOOGLE_MAX_RETRIES=4


async def test_the_client_without_the_tasks_scope_is_rejected(google: GoogleStandIn) -> None:
    _, token = _token(google, list(SCOPES))
    settings = _settings(google)
    tasks = GoogleTasksClient(GoogleCalendarClient(settings), settings)
    async with tasks.session(Credentials(token)) as session:
        with pytest.raises(GoogleAuthRejectedError, match="403"):
            await tasks.insert(session, {"title": "x"})
    assert len(google.state.operations("tasks.insert")) == 1  # a refusal is not retried


async def test_control_routes_stand_for_the_user_s_own_edits(google: GoogleStandIn) -> None:
    email = "someone@example.com"
    url = f"{google.url}/_sandbox/tasks/{email}"
    async with httpx.AsyncClient() as http:
        made = (await http.post(url, json={"title": "from the phone"})).json()
        changed = (await http.patch(f"{url}/{made['id']}", json={"status": "completed"})).json()
        assert changed["status"] == "completed"
        assert (await http.delete(f"{url}/{made['id']}")).json() == {"deleted": True}
        [kept] = (await http.get(url)).json()
    assert kept["deleted"] is True
