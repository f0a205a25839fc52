"""The `tasks` tool's Google Tasks sync against the real services (rest_service,
google_calendar_service and the Google stand-in): `google_on` answers the link while Google
Tasks is not allowed, then turns sync on; with sync on every action syncs after it and a list
syncs first; Google unreachable is told to the model, never an error; `google_off`."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.tasks_tool import UNREACHABLE_NOTE, TasksTool
from assistant.tests.support import tool_spec
from assistant.tests.test_tasks_tool import SCHEMA, call
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, google_tasks_of

# The calendar tool's services (its calendar service the shared one).
from tests.test_calendar_tool_actions import cal_rest, tool_services

__all__ = ["cal_rest", "tool_services"]


@pytest.fixture
def rest(stack_rest: RestClient) -> RestClient:
    """The calendar stack's rest_service (the one the calendar service syncs with)."""
    return stack_rest


@pytest.fixture
def tool(tool_services: ToolServices) -> TasksTool:
    return TasksTool(tool_spec("tasks", input_schema=SCHEMA), tool_services)


async def test_google_on_gives_the_link_then_every_action_syncs_until_off(
    tool: TasksTool,
    user: TelegramUser,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
) -> None:
    await connect(api, browser, str(user.id))  # the calendar only
    asked = await tool.run({"action": "google_on"}, call(user))
    assert asked["status"] == "needs_access" and "tasks" in asked["auth_url"]
    await browser.open(await browser.consent_redirect(asked["auth_url"]))
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"]

    on = await tool.run({"action": "google_on"}, call(user))
    assert on == {"status": "sync_on", "sent": 0, "taken": 0}

    added = await tool.run({"action": "add", "title": "Pay rent"}, call(user, position="1"))
    assert added["google_tasks"] == "in step"
    assert list(await google_tasks_of(google, browser.email)) == ["Pay rent"]
    async with httpx.AsyncClient(base_url=google.url) as http:
        await http.post(f"/_sandbox/tasks/{browser.email}", json={"title": "Call the plumber"})
    listed = await tool.run({"action": "list"}, call(user))
    assert sorted(t["title"] for t in listed["tasks"]) == ["Call the plumber", "Pay rent"]
    done = await tool.run({"action": "complete", "title": "pay rent"}, call(user, position="2"))
    assert done["task_status"] == "done" and done["google_tasks"] == "in step"
    assert (await google_tasks_of(google, browser.email))["Pay rent"]["status"] == "completed"

    off = await tool.run({"action": "google_off"}, call(user, position="3"))
    assert off["status"] == "sync_off"
    quiet = await tool.run({"action": "add", "title": "Private"}, call(user, position="4"))
    assert "google_tasks" not in quiet
    assert "Private" not in await google_tasks_of(google, browser.email)


async def test_google_unreachable_is_told_to_the_model_and_the_task_is_kept(
    tool: TasksTool,
    user: TelegramUser,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
) -> None:
    await connect(api, browser, str(user.id), "tasks")
    google.state.queue_fault("tasks.list", 503, "backendError", count=100)

    on = await tool.run({"action": "google_on"}, call(user))
    assert on == {"status": "sync_on", "google_tasks": UNREACHABLE_NOTE}
    added = await tool.run({"action": "add", "title": "Renew passport"}, call(user, position="1"))
    assert added["title"] == "Renew passport" and added["google_tasks"] == UNREACHABLE_NOTE

    google.state.faults.clear()
    listed = await tool.run({"action": "list"}, call(user))
    assert listed["google_tasks"] == "in step"
    assert list(await google_tasks_of(google, browser.email)) == ["Renew passport"]


async def test_the_calendar_service_down_is_an_error_the_model_reads(
    tool: TasksTool, user: TelegramUser
) -> None:
    down = tool.services.settings.model_copy(
        update={"google_calendar_service_url": "http://127.0.0.1:9"}
    )
    cut_off = TasksTool(tool.spec, dataclasses.replace(tool.services, settings=down))
    for action in ("google_on", "google_off"):
        with pytest.raises(ToolError, match="Google Tasks"):
            await cut_off.run({"action": action}, call(user))
