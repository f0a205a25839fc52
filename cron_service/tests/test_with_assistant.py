"""Reminders and the assistant together: real assistant and cron_service processes, the LLM
stand-in scripted per test, the seed's `reminder` schema."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import IncomingMessage, fire_message_id
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobType, TelegramUser
from cron_service.tests.conftest import Outbox, runs_of, start_cron
from ops.processes import ServiceProcess, Stack
from ops.services import ROOT
from sandbox.llm_server import LlmStandIn, Step, ToolCallStep
from tests.reminders import whole_second
from tests.users import make_user
from tests.waiting import until

SEED = ROOT / "rest_service" / "seed" / "default_config.json"
ASSISTANT_ENV = {
    "OPENAI_API_KEY": "sk-test",
    "LLM_RETRY_BASE_SECONDS": "0.01",
    "QUEUE_CLAIM_IDLE_MS": "1500",
    "QUEUE_CLAIM_INTERVAL_SECONDS": "0.3",
    "QUEUE_LOCK_TTL_MS": "1500",
    "SHUTDOWN_GRACE_SECONDS": "1",
}


def seed_tool(name: str, path: Path = SEED) -> dict[str, Any]:
    return next(t for t in json.loads(path.read_text())["tools"] if t["name"] == name)


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


@pytest.fixture
async def secretary_with_reminders(
    llm: LlmStandIn, admin: RestClient, secretary: str
) -> AsyncIterator[LlmStandIn]:
    """The secretary on the stand-in's model, with the seed's reminder tool."""
    document = {
        "providers": [{"name": "sandbox", "base_url": llm.base_url, "api_key": "sk-sandbox"}],
        "models": [
            {"provider": "sandbox", "provider_model_name": "sandbox-default", "is_default": True}
        ],
        "assistants": [{"name": "secretary", "is_secretary": True, "instructions": "Be brief."}],
        "tools": [seed_tool("reminder")],
        "links": [{"assistant": "secretary", "tool": "reminder"}],
    }
    await admin.post_json("/api/config/import", document)
    llm.reset()
    yield llm
    llm.reset()


def start_assistant(stack: Stack, llm: LlmStandIn) -> ServiceProcess:
    return stack.start("assistant", env={**ASSISTANT_ENV, "OPENAI_BASE_URL": llm.base_url})


async def test_a_redelivered_message_creates_one_reminder(
    stack: Stack,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    secretary_with_reminders: LlmStandIn,
) -> None:
    """The assistant dies after the tool made the reminder and before it answered; the
    restarted one handles the same message again: the model's answered first step comes from
    the turn's record (not asked again), and its tool call runs again, making no second
    reminder."""
    llm = secretary_with_reminders
    create = ToolCallStep(
        "reminder", {"action": "create", "text": "call the bank", "when": "in 2 hours"}
    )
    llm.script(
        Step(tool_calls=[create], contains="remind me"),
        Step(text="never seen: the assistant dies first", delay=5),
        Step(text="Done: I'll remind you in 2 hours."),
    )
    assistant = start_assistant(stack, llm)
    message = IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=user.telegram_id,
        user_id=user.id,
        text="remind me to call the bank in 2 hours",
    )
    await redis.xadd(names.to_secretary, {"data": message.to_json()})

    await until(lambda: rest.list_cron_jobs(user_id=user.id))
    # The tool's result is on its way to the model (the step that never answers).
    await until(lambda: len(llm.requests) >= 2, 20, "the second step asked")
    assistant.kill()
    await asyncio.to_thread(stack.restart, "assistant")

    [answer] = await until(outbox.all)
    assert answer.message.text == "Done: I'll remind you in 2 hours."
    assert answer.message.correlation_id == str(message.message_id)
    [job] = await rest.list_cron_jobs(user_id=user.id)
    assert job.text == "call the bank"
    assert job.idempotency_key == f"{message.message_id}:0"
    assert llm.pending_steps() == 0
    first_steps = [r for r in llm.requests if r.last("tool") is None]
    assert len(first_steps) == 1, "the answered first step was asked again"


async def test_an_assistant_prompt_jobs_answer_reaches_telegram(
    stack: Stack,
    rest: RestClient,
    user: TelegramUser,
    outbox: Outbox,
    secretary_with_reminders: LlmStandIn,
) -> None:
    llm = secretary_with_reminders
    llm.script(Step(text="Good morning! Your day is free; 12°C and sunny.", contains="calendar"))
    await asyncio.gather(
        asyncio.to_thread(start_assistant, stack, llm), asyncio.to_thread(start_cron, stack)
    )
    run_at = whole_second(datetime.now(UTC) + timedelta(seconds=2))
    job = await rest.create_cron_job(
        name="morning brief",
        type=CronJobType.assistant_prompt,
        chat_id=user.telegram_id,
        user_id=user.id,
        prompt="today's calendar and the weather in my city",
        run_at=run_at,
    )

    [answer] = await until(outbox.all)
    assert answer.message.text == "Good morning! Your day is free; 12°C and sunny."
    assert answer.message.correlation_id == str(fire_message_id(job.id, run_at))
    [run] = await runs_of(rest, job.id)
    assert run.outcome == "on_time"
    [request] = llm.requests
    last = request.last("user")
    assert last is not None
    asked = last["content"]
    assert asked.startswith("Scheduled briefing the user set up: today's calendar and the")
    assert "one short message" in asked


async def test_a_users_weekday_briefing_fires_once_with_two_cron_instances_and_a_restart(
    stack: Stack,
    rest: RestClient,
    user: TelegramUser,
    outbox: Outbox,
    secretary_with_reminders: LlmStandIn,
) -> None:
    """A briefing as the reminder tool makes it (a user's recurring assistant_prompt), its
    next time moved near: two cron_service instances, one of them restarted after the fire,
    and the secretary answers once."""
    llm = secretary_with_reminders
    llm.script(
        Step(text="Сегодня свободно; в Берлине +12°C.", contains="Сводка по расписанию"),
        Step(text="Later: all quiet.", contains="a later briefing"),
    )
    job = await rest.create_cron_job(
        name="утренняя сводка",
        type=CronJobType.assistant_prompt,
        chat_id=user.telegram_id,
        user_id=user.id,
        prompt="мои дела на сегодня и погода в Берлине",
        cron_expression="0 8 * * 1-5",
        timezone="Europe/Berlin",
    )
    await asyncio.gather(
        asyncio.to_thread(start_assistant, stack, llm),
        asyncio.to_thread(start_cron, stack, "cron_a"),
        asyncio.to_thread(start_cron, stack, "cron_b"),
    )
    run_at = whole_second(datetime.now(UTC) + timedelta(seconds=2))
    await rest.update_cron_job(job.id, run_at=run_at, cron_expression=None)

    [answer] = await until(outbox.all)
    assert answer.message.text == "Сегодня свободно; в Берлине +12°C."
    await asyncio.to_thread(stack.restart, "cron_a")
    # Another user's briefing, due after the restart, answered: a second fire of this one
    # would have gone to the secretary first.
    other = await make_user(rest)
    later = await rest.create_cron_job(
        name="later",
        type=CronJobType.assistant_prompt,
        chat_id=other.telegram_id,
        user_id=other.id,
        prompt="a later briefing",
        run_at=whole_second(datetime.now(UTC) + timedelta(seconds=2)),
    )
    await until(lambda: outbox.to_chat(other.telegram_id), 30, "the later briefing answered")
    assert len(await outbox.to_chat(user.telegram_id)) == 1
    assert len(await runs_of(rest, job.id)) == 1
    assert len(await runs_of(rest, later.id)) == 1
    assert len(llm.requests) == 2
    assert [r for r in llm.requests if "мои дела на сегодня" in str(r.messages)] == [
        llm.requests[0]
    ]
