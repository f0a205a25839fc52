"""The `tasks` tool against the real rest_service: add, list (by priority then deadline, within
days), complete (its reminder cancelled), reopen, update, delete; the group refusal; arguments
as real models write them (through the toolbox's fitting and the seeded schema), and any
arguments at all answered with a result or an error the model reads."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.clients.llm import ToolCall
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.tasks_tool import TasksTool
from assistant.src.tools.toolbox import Toolbox
from assistant.tests.support import tool_spec
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, TelegramUser
from ops.services import ROOT

#: A Saturday: "next Friday" is the Friday of the coming week, unambiguously.
SATURDAY = datetime(2027, 1, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
SCHEMA = next(
    t["input_schema"]
    for t in json.loads((ROOT / "rest_service/seed/default_config.json").read_text())["tools"]
    if t["name"] == "tasks"
)


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[TasksTool]:
    async with client_session() as http:
        spec = tool_spec("tasks", input_schema=SCHEMA)
        settings = Settings(environment="test", redis_url=redis_url)
        yield TasksTool(spec, ToolServices(settings, redis, names, rest, http))


@pytest.fixture
def on_saturday(tool: TasksTool) -> TasksTool:
    """The tool with its clock on SATURDAY."""
    return TasksTool(tool.spec, dataclasses.replace(tool.services, clock=lambda: SATURDAY))


def call(user: TelegramUser, *, group: bool = False, position: str = "0") -> ToolCallOrigin:
    actor = Actor(
        user_id=str(user.id),
        conversation_key=f"chat:-100{user.telegram_id}" if group else str(user.id),
        chat_id=-100 if group else int(user.telegram_id),
        timezone="Europe/Berlin",
        is_group=group,
    )
    return ToolCallOrigin(actor, str(uuid.uuid4()), uuid.UUID(int=1), position, 0)


async def test_add_list_by_priority_then_deadline_complete_and_reopen(
    on_saturday: TasksTool, user: TelegramUser
) -> None:
    tool = on_saturday
    await tool.run({"action": "add", "title": "Someday", "priority": "low"}, call(user))
    await tool.run({"action": "add", "title": "Taxes", "deadline": "2027-01-20T12:00",
                    "priority": "high"}, call(user))  # fmt: skip
    soon = {"action": "add", "title": "Call  Anna", "deadline": "next Friday", "priority": "high"}
    added = await tool.run(soon, call(user))
    assert added["title"] == "Call Anna" and added["deadline"].startswith("Friday 08 January 2027")
    listed = await tool.run({"action": "list"}, call(user))
    assert [t["title"] for t in listed["tasks"]] == ["Call Anna", "Taxes", "Someday"]
    week = await tool.run({"action": "list", "within_days": 7}, call(user))
    assert [t["title"] for t in week["tasks"]] == ["Call Anna"]

    done = await tool.run({"action": "complete", "title": "call anna"}, call(user))
    assert done["task_status"] == "done" and "note" not in done
    left = await tool.run({"action": "list"}, call(user))
    assert [t["title"] for t in left["tasks"]] == ["Taxes", "Someday"]
    every = await tool.run({"action": "list", "status": "all"}, call(user))
    assert len(every["tasks"]) == 3
    again = await tool.run({"action": "reopen", "task_id": done["task_id"]}, call(user))
    assert again["task_status"] == "open"


async def test_a_deadline_reminder_is_a_reminder_and_completing_cancels_it(
    tool: TasksTool, rest: RestClient, user: TelegramUser
) -> None:
    added = await tool.run(
        {"action": "add", "title": "Pay rent", "deadline": "tomorrow at 18:00", "remind": True},
        call(user),
    )
    assert added["has_reminder"] is True
    task = await rest.get_task(user.id, added["task_id"])
    assert task.reminder_job_id is not None
    job = await rest.get_cron_job(task.reminder_job_id)
    assert job.text == "Task: Pay rent" and job.run_at == task.deadline
    assert job.status == CronJobStatus.active and job.user_id == user.id

    done = await tool.run({"action": "complete", "task_id": added["task_id"]}, call(user))
    assert done["note"] == "its reminder is cancelled"
    assert (await rest.get_cron_job(job.id)).status == CronJobStatus.cancelled


async def test_update_moves_the_reminder_with_the_deadline_and_delete_cancels_it(
    tool: TasksTool, rest: RestClient, user: TelegramUser
) -> None:
    added = await tool.run(
        {"action": "add", "title": "Dentist", "deadline": "in 2 days", "remind_at": "tomorrow"},
        call(user),
    )
    first = (await rest.get_task(user.id, added["task_id"])).reminder_job_id
    moved = await tool.run(
        {"action": "update", "title": "dentist", "deadline": "in 3 days", "new_title": "Dentist!",
         "priority": "HIGH", "notes": "bring the card"},
        call(user, position="1"),
    )  # fmt: skip
    assert (moved["title"], moved["priority"], moved["notes"]) == (
        "Dentist!",
        "high",
        "bring the card",
    )
    task = await rest.get_task(user.id, added["task_id"])
    assert task.reminder_job_id not in (None, first)
    assert first is not None and (await rest.get_cron_job(first)).status == "cancelled"
    second = await rest.get_cron_job(task.reminder_job_id)
    assert second.run_at == task.deadline

    gone = await tool.run({"action": "delete", "task_id": str(task.id)}, call(user))
    assert gone == {"status": "deleted", "task_id": str(task.id), "title": "Dentist!"}
    assert (await rest.get_cron_job(second.id)).status == "cancelled"
    with pytest.raises(ToolError, match="no task"):
        await tool.run({"action": "delete", "task_id": str(task.id)}, call(user))


async def test_a_redelivered_add_adds_once(
    tool: TasksTool, rest: RestClient, user: TelegramUser
) -> None:
    origin = call(user)
    first = await tool.run({"action": "add", "title": "Buy milk"}, origin)
    second = await tool.run({"action": "add", "title": "Buy milk"}, origin)
    assert first["task_id"] == second["task_id"]
    assert len(await rest.list_tasks(user.id)) == 1


async def test_refusals_the_model_reads(tool: TasksTool, user: TelegramUser) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "add"}, "needs 'title'"),
        ({"action": "add", "title": "x" * 201}, "at most 200"),
        ({"action": "add", "title": "x", "notes": "n" * 2001}, "at most 2000"),
        ({"action": "add", "title": "x", "priority": "urgent"}, "use low, normal or high"),
        ({"action": "add", "title": "x", "remind": True}, "needs a deadline"),
        ({"action": "add", "title": "x", "deadline": "whenever"}, "ask the user"),
        ({"action": "list", "status": "later"}, "open, done or all"),
        ({"action": "list", "within_days": 0}, "between 1 and 366"),
        ({"action": "list", "within_days": "7"}, "whole number"),
        ({"action": "complete"}, "which task"),
        ({"action": "complete", "title": "nothing like it"}, "no task matches"),
        ({"action": "reopen", "task_id": "not-an-id"}, "has no task"),
        ({"action": "fly"}, "unknown action"),
    ]
    for arguments, words in cases:
        with pytest.raises(ToolError, match=words):
            await tool.run(arguments, call(user))
    await tool.run({"action": "add", "title": "Call mum"}, call(user))
    await tool.run({"action": "add", "title": "Call dad"}, call(user))
    with pytest.raises(ToolError, match="2 tasks match"):
        await tool.run({"action": "complete", "title": "call"}, call(user))
    with pytest.raises(ToolError, match="nothing to change"):
        await tool.run({"action": "update", "title": "Call mum"}, call(user))


async def test_in_a_group_it_refuses(tool: TasksTool, user: TelegramUser) -> None:
    with pytest.raises(ToolError, match="private"):
        await tool.run({"action": "list"}, call(user, group=True))
    assert tool.stores_or_removes({"action": "add"}) and not tool.stores_or_removes(
        {"action": "list"}
    )


#: How real models write these calls (raw JSON as they send it), and what comes of it.
CORPUS: list[tuple[str, str]] = [
    (
        '{"action": "add", "title": "Send the report", "deadline": "next Friday", '
        '"priority": "HIGH"}',
        "added",
    ),
    ('{"action": "Add", "title": "Gym", "priority": " low "}', "added"),
    ('{"action": "add", "title": "Water plants", "notes": null, "deadline": null}', "added"),
    ('"{\\"action\\": \\"list\\"}"', "tasks"),
    ('{"arguments": {"action": "list", "within_days": "7"}}', "tasks"),
    ('{"action": "list", "status": "Open", "limit": 10}', "tasks"),
    ('```json\n{"action": "list"}\n```', "tasks"),
    ('{"action": "add", "priority": "high"}', "needs 'title'"),
    ('{"action": "add", "title": "x", "priority": "urgent"}', "priority"),
    ('{"action": "add", "title": "x", "deadline": "в пятницу в 18:00"}', "added"),
    ('{"action": "add", "title": "x", "deadline": "2027-01-05"}', "added"),
    ('{"action": "add", "title": "x", "deadline": "at 3"}', "ask the user"),
    ('{"action": "complete", "task_id": 42}', "task_id"),
    ('{"title": "Buy milk"}', "action"),
    ('{"action": "add", "title": "x", "remind": "yes"}', "remind"),
]


@pytest.mark.parametrize(("raw", "outcome"), CORPUS)
async def test_calls_as_real_models_write_them(
    on_saturday: TasksTool, rest: RestClient, user: TelegramUser, raw: str, outcome: str
) -> None:
    box = Toolbox([on_saturday], rest)
    result = await box.run(ToolCall("c1", "tasks", raw), call(user))
    assert outcome in result.content, result.content


ARGUMENTS = st.dictionaries(
    st.sampled_from([*SCHEMA["properties"], "extra"]),
    st.one_of(
        st.none(), st.booleans(), st.integers(-5, 400), st.text(max_size=30),
        st.sampled_from(["add", "list", "complete", "reopen", "delete", "update", "HIGH",
                         "tomorrow at 9", "next Friday", "in 2 days", "all", "done"]),
    ),
    max_size=6,
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(arguments=ARGUMENTS)
async def test_any_arguments_get_a_result_or_an_error_the_model_reads(
    on_saturday: TasksTool, rest: RestClient, user: TelegramUser, arguments: dict[str, Any]
) -> None:
    box = Toolbox([on_saturday], rest)
    result = await box.run(ToolCall("c1", "tasks", json.dumps(arguments)), call(user))
    assert result.ok or "internal error" not in result.content, result.content
    assert isinstance(json.loads(result.content) if result.ok else result.content, dict | str)
