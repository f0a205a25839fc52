"""Google Tasks sync through the real service: `/tasks/{user_id}/sync` on the shared calendar
stack (rest_service, the service, the Google stand-in), the user connected through the OAuth
flow with `?access=tasks`. The user's own edits in Google are made through the stand-in's
control routes (`/_sandbox/tasks/{email}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TaskStatus, TelegramUser
from google_calendar_service.src.settings import ACCESS_SCOPES
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, query_of


class GoogleTasksApp:
    """The user's own Google Tasks (the stand-in's control routes)."""

    def __init__(self, http: httpx.AsyncClient, email: str) -> None:
        self.http, self.path = http, f"/_sandbox/tasks/{email}"

    async def tasks(self) -> dict[str, dict[str, Any]]:
        """Every task of the default list by title, deleted ones too (`deleted`)."""
        return {t["title"]: t for t in (await self.http.get(self.path)).json()}

    async def live(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in (await self.tasks()).items() if not v.get("deleted")}

    async def add(self, **body: Any) -> dict[str, Any]:
        made: dict[str, Any] = (await self.http.post(self.path, json=body)).json()
        return made

    async def change(self, task_id: str, **body: Any) -> None:
        assert (await self.http.patch(f"{self.path}/{task_id}", json=body)).status_code == 200

    async def delete(self, task_id: str) -> None:
        assert (await self.http.delete(f"{self.path}/{task_id}")).status_code == 200


@pytest.fixture
async def in_google(google: GoogleStandIn, browser: Browser) -> AsyncIterator[GoogleTasksApp]:
    async with httpx.AsyncClient(base_url=google.url, timeout=30) as http:
        yield GoogleTasksApp(http, browser.email)


@pytest.fixture
async def syncing(api: httpx.AsyncClient, browser: Browser, user: TelegramUser) -> TelegramUser:
    """`user`, connected with tasks access, sync turned on."""
    await connect(api, browser, str(user.id), "tasks")
    assert (await sync(api, user, "PUT"))["enabled"]
    return user


async def sync(api: httpx.AsyncClient, user: TelegramUser, method: str = "POST") -> dict[str, Any]:
    answer = await api.request(method, f"/tasks/{user.id}/sync")
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def titles(rest: RestClient, user: TelegramUser, status: TaskStatus) -> list[str]:
    return sorted(t.title for t in await rest.list_tasks(user.id, status=status))


async def test_without_tasks_access_on_answers_the_link_and_syncs_once_it_is_granted(
    api: httpx.AsyncClient,
    browser: Browser,
    rest: RestClient,
    user: TelegramUser,
    in_google: GoogleTasksApp,
) -> None:
    await rest.create_task(user.id, "Pay rent")
    unconnected = await api.put(f"/tasks/{user.id}/sync")
    assert unconnected.status_code == 409 and unconnected.json()["auth_url"]
    await connect(api, browser, str(user.id))  # the calendar only

    refused = await api.put(f"/tasks/{user.id}/sync")

    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "google_access_not_granted"
    assert set(ACCESS_SCOPES["tasks"]) <= set(query_of(body["auth_url"])["scope"].split())
    assert (await rest.get_task_sync(user.id)).enabled  # on: starts once access is granted
    assert await in_google.tasks() == {}

    await browser.open(await browser.consent_redirect(body["auth_url"]))
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"]
    report = await sync(api, user)

    assert report == report | {"enabled": True, "unreachable": False, "pushed": 1}
    assert list(await in_google.live()) == ["Pay rent"]


async def test_changes_here_reach_google_and_changes_there_come_back(
    api: httpx.AsyncClient,
    browser: Browser,
    rest: RestClient,
    user: TelegramUser,
    in_google: GoogleTasksApp,
) -> None:
    await connect(api, browser, str(user.id), "tasks")
    rent = await rest.create_task(user.id, "Pay rent", notes="by transfer")
    milk = await rest.create_task(user.id, "Buy milk")
    doomed = await rest.create_task(user.id, "Old errand")
    await in_google.add(title="Call the plumber", status="needsAction")

    first = await sync(api, user, "PUT")

    assert first == first | {"enabled": True, "pushed": 3, "pulled": 1}
    there = await in_google.live()
    assert sorted(there) == ["Buy milk", "Call the plumber", "Old errand", "Pay rent"]
    assert there["Pay rent"]["notes"] == "by transfer"
    assert await titles(rest, user, TaskStatus.open) == sorted(there)

    # push: complete, rename, delete here
    await rest.update_task(user.id, rent.id, status=TaskStatus.done)
    await rest.update_task(user.id, milk.id, title="Buy oat milk")
    await rest.delete_task(user.id, doomed.id)
    pushed = await sync(api, user)
    assert pushed == pushed | {"pushed": 2, "deleted_there": 1, "pulled": 0}
    everything = await in_google.tasks()
    assert everything["Pay rent"]["status"] == "completed"
    assert everything["Old errand"]["deleted"] is True
    assert "Buy oat milk" in everything and "Buy milk" not in everything
    assert (await rest.get_task_sync(user.id)).deletions == []

    # pull: made, completed and deleted in Google
    await in_google.add(title="Book the dentist", notes="Dr. Ng", status="needsAction")
    await in_google.change(there["Call the plumber"]["id"], status="completed")
    await in_google.delete(everything["Buy oat milk"]["id"])
    pulled = await sync(api, user)
    assert pulled == pulled | {"pulled": 2, "deleted_here": 1, "pushed": 0}
    assert await titles(rest, user, TaskStatus.open) == ["Book the dentist"]
    assert await titles(rest, user, TaskStatus.done) == ["Call the plumber", "Pay rent"]

    again = await sync(api, user)  # in step: nothing either way
    assert again == {"enabled": True, "unreachable": False, "pushed": 0, "pulled": 0,
                     "deleted_here": 0, "deleted_there": 0, "skipped": 0}  # fmt: skip


async def test_google_unreachable_loses_nothing_and_the_next_sync_sends_it(
    api: httpx.AsyncClient,
    google: GoogleStandIn,
    rest: RestClient,
    syncing: TelegramUser,
    in_google: GoogleTasksApp,
) -> None:
    user = syncing
    await rest.create_task(user.id, "Renew passport")
    google.state.queue_fault("tasks.insert", 503, "backendError", count=100)

    failed = await sync(api, user)

    assert failed == failed | {"enabled": True, "unreachable": True, "pushed": 0}
    assert await in_google.live() == {}
    [kept] = await rest.list_tasks(user.id)
    assert kept.title == "Renew passport" and kept.google_task_id is None

    google.state.faults.clear()
    sent = await sync(api, user)
    assert sent == sent | {"unreachable": False, "pushed": 1}
    assert list(await in_google.live()) == ["Renew passport"]


async def test_off_nothing_reaches_google(
    api: httpx.AsyncClient,
    google: GoogleStandIn,
    rest: RestClient,
    syncing: TelegramUser,
    in_google: GoogleTasksApp,
) -> None:
    user = syncing
    off = await sync(api, user, "DELETE")
    assert off == off | {"enabled": False}
    await rest.create_task(user.id, "Private errand")
    google.state.reset_activity()

    assert (await sync(api, user))["enabled"] is False
    assert google.state.operations("tasks.list") == []
    assert await in_google.tasks() == {}
    assert (await api.post("/tasks/not-a-uuid/sync")).status_code == 422
