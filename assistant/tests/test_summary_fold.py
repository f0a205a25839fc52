"""One fold of a thread's summary in-process (`turn/summary.py`) against the real
rest_service and the LLM stand-in: the cases a whole deployment reaches only by chance — an
empty reply, a writer overtaken by another, a lock held elsewhere, shutdown while folding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.clients.llm import LlmGateway, ModelRoute
from assistant.src.settings import Settings
from assistant.src.turn.state import TurnState
from assistant.src.turn.summary import Summaries
from assistant.tests.support import Deployment
from assistant.tests.test_memory import chat, store, thread_of
from assistant.tests.test_orchestrator_in_process import message_from, orchestrator_on
from common.infrastructure.redis_lock import RedisLock
from common.infrastructure.wire import TelegramUser
from sandbox.llm_server import Step
from tests.waiting import until


@pytest.fixture
async def summaries(
    settings: Settings, deployment: Deployment, redis: aioredis.Redis
) -> AsyncIterator[Summaries]:
    """Summaries after 4 older messages, on the deployment's rest_service and stand-in."""
    changed = settings.model_copy(update={"summary_after_messages": 4})
    gateway = LlmGateway(changed, deployment.rest.get_provider_api_key)
    yield Summaries(
        changed, redis, deployment.names, AssistantDeps(changed, deployment.rest, gateway)
    )
    await gateway.aclose()


async def a_long_thread(deployment: Deployment) -> tuple[TelegramUser, str, int]:
    """A user whose thread has 10 messages; the id of the newest (the window's start)."""
    user = await deployment.user("Rita")
    await store(deployment, user, chat(10))
    thread = await thread_of(deployment, user)
    newest = (await deployment.rest.summary_backlog(thread)).messages[-1].id
    return user, thread, newest


def routes(deployment: Deployment) -> list[ModelRoute]:
    return [ModelRoute("summary-model", deployment.llm.base_url)]


def failures(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "smart_assistant_assistant_summary_failures_total", {"reason": reason}
    )
    return value or 0.0


async def test_an_empty_reply_is_counted_and_no_summary_is_stored(
    deployment: Deployment, summaries: Summaries
) -> None:
    _user, thread, newest = await a_long_thread(deployment)
    deployment.llm.reply("  ")
    before = failures("empty")

    await summaries.fold(thread, newest, routes(deployment))

    assert failures("empty") == before + 1
    assert (await deployment.rest.summary_backlog(thread)).summary is None


async def test_a_fold_overtaken_by_another_writer_keeps_theirs(
    deployment: Deployment, summaries: Summaries
) -> None:
    _user, thread, newest = await a_long_thread(deployment)
    deployment.llm.script(Step(text="mine", delay=1.0))
    folding = asyncio.create_task(summaries.fold(thread, newest, routes(deployment)))
    await until(lambda: deployment.llm.requests, 10, "the model was not asked")

    await deployment.rest.write_summary(thread, "theirs", newest - 1, None)
    with capture_logs() as logs:
        await folding

    assert [e["event"] for e in logs] == ["summary_overtaken"]
    assert (await deployment.rest.summary_backlog(thread)).summary.content == "theirs"  # type: ignore[union-attr]


async def test_a_lock_held_elsewhere_means_no_second_fold(
    deployment: Deployment, summaries: Summaries, redis: aioredis.Redis
) -> None:
    _user, thread, newest = await a_long_thread(deployment)
    elsewhere = RedisLock(redis, deployment.names.thread_summary_lock(thread), 10_000)
    assert await elsewhere.acquire()

    await summaries.fold(thread, newest, routes(deployment))

    assert deployment.llm.requests == []
    assert await elsewhere.release()


async def test_after_an_answer_one_fold_starts_per_thread_and_close_waits_for_it(
    deployment: Deployment, summaries: Summaries
) -> None:
    user, thread, _newest = await a_long_thread(deployment)
    deployment.llm.script(Step(text="notes", delay=0.5))
    snapshot = await deployment.rest.get_config()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    state = TurnState(message_from(deployment, user, "hello"), snapshot)
    state.context = await deployment.rest.turn_context(str(user.id), secretary, limit=2)

    summaries.after_answer(state)
    summaries.after_answer(state)  # already folding: not a second one
    assert list(summaries.running) == [thread]
    await summaries.close()

    assert len(deployment.llm.requests) == 1
    assert (await deployment.rest.summary_backlog(thread)).summary.content == "notes"  # type: ignore[union-attr]
    assert summaries.running == {}
    await summaries.close()  # nothing in flight: returns at once


async def test_closing_the_orchestrator_lets_the_fold_an_answer_started_finish(
    deployment: Deployment, settings: Settings, redis: aioredis.Redis
) -> None:
    """The fold runs after the answer is out, on Redis and rest_service; the assistant
    closes the orchestrator before them, so the fold is done by then, its lock let go."""
    user, thread, _newest = await a_long_thread(deployment)
    deployment.llm.script(Step(text="Hello!"), Step(text="notes", delay=0.5))
    changed = settings.model_copy(update={"summary_after_messages": 4, "max_context_messages": 2})
    async with orchestrator_on(deployment, changed) as orchestrator:
        await orchestrator.handle(message_from(deployment, user, "hello"))
        assert list(orchestrator.summaries.running) == [thread]

        await orchestrator.close()

        assert orchestrator.summaries.running == {}
    assert (await deployment.rest.summary_backlog(thread)).summary.content == "notes"  # type: ignore[union-attr]
    assert not await redis.exists(deployment.names.thread_summary_lock(thread))
