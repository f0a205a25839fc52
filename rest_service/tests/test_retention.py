"""History retention: messages older than `HISTORY_RETENTION_DAYS` go,
newer ones stay, the default keeps a year, nothing goes while it is off (0), and of two
replicas one runs it per period: in-process against real Postgres and Redis, and as two
real processes."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import col
from structlog.testing import capture_logs

from common.infrastructure.clock import utcnow
from ops.processes import Stack
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.webhook import DeliveryStatus, WebhookDelivery, WebhookEvent
from rest_service.app.retention import (
    delete_older_than,
    run_once,
    run_webhooks_once,
    start_retention,
    stop_retention,
)
from rest_service.app.settings import Settings
from rest_service.app.state import AppState
from rest_service.tests.conftest import Api, unreachable
from tests.waiting import until

#: The replicas read what the app wrote through engines of their own.
pytestmark = pytest.mark.commits

#: A replica's claims of retention periods: it `ran` one, or found it `taken`; how many.
CLAIMS = re.compile(
    r'^smart_assistant_history_retention_claims_total\{outcome="(\w+)"\} (\S+)$', re.M
)


@pytest.fixture
async def states(settings: Settings) -> AsyncIterator[list[AppState]]:
    """Two replicas' state (each its own engine and Redis client), retention at 30 days."""
    on = settings.model_copy(update={"history_retention_days": 30, "webhook_retention_days": 30})
    made = [AppState.create(on), AppState.create(on)]
    try:
        yield made
    finally:
        for state in made:
            await state.close()


async def _thread_with_ages(api: Api, ages_in_days: list[int]) -> tuple[str, list[int]]:
    """A thread whose messages were written `ages_in_days` ago; returns their ids."""
    thread = await api.thread(f"chat:{time.monotonic_ns()}")
    ids = []
    for age in ages_in_days:
        message = await api.say(thread["thread_id"], f"{age} days ago")
        ids.append(message["id"])
    return thread["thread_id"], ids


async def _age(state: AppState, ids: list[int], ages_in_days: list[int]) -> None:
    async with unit_of_work(state) as ctx:
        for message_id, age in zip(ids, ages_in_days, strict=True):
            when = utcnow() - timedelta(days=age)
            await ctx.session.execute(
                update(ChatMessage).where(col(ChatMessage.id) == message_id).values(created_at=when)
            )


async def _left(state: AppState, ids: list[int]) -> set[int]:
    async with state.sessions() as session:
        column = col(ChatMessage.id)
        rows = await session.scalars(select(column).where(column.in_(ids)))
        return {row for row in rows if row is not None}


async def test_messages_older_than_the_limit_go_and_newer_stay(
    api: Api, states: list[AppState]
) -> None:
    ages = [400, 31, 29, 1, 0]
    _thread, ids = await _thread_with_ages(api, ages)
    await _age(states[0], ids, ages)
    deleted = await run_once(states[0])
    assert deleted is not None and deleted >= 2  # other tests' aged rows may go too
    assert await _left(states[0], ids) == set(ids[2:])


async def test_a_large_backlog_goes_in_batches(api: Api, states: list[AppState]) -> None:
    ages = [60] * 7 + [0]
    _thread, ids = await _thread_with_ages(api, ages)
    await _age(states[0], ids, ages)
    assert await delete_older_than(states[0], utcnow() - timedelta(days=30), 3) >= 7
    assert await _left(states[0], ids) == {ids[-1]}


async def test_the_default_keeps_a_year_and_deletes_what_is_older(
    api: Api, settings: Settings
) -> None:
    assert Settings.model_fields["history_retention_days"].default == 365
    # The suite's settings turn retention off (conftest); these are the defaults.
    default = settings.model_copy(
        update={"history_retention_days": Settings.model_fields["history_retention_days"].default}
    )
    state = AppState.create(default)
    try:
        ages = [400, 366, 364, 30]
        _thread, ids = await _thread_with_ages(api, ages)
        await _age(state, ids, ages)
        deleted = await run_once(state)
        assert deleted is not None and deleted >= 2
        assert await _left(state, ids) == set(ids[2:])
    finally:
        await state.close()


async def test_zero_keeps_every_message(api: Api, settings: Settings) -> None:
    state = AppState.create(settings.model_copy(update={"history_retention_days": 0}))
    try:
        ages = [4000]
        _thread, ids = await _thread_with_ages(api, ages)
        await _age(state, ids, ages)
        assert await run_once(state) is None
        assert await _left(state, ids) == set(ids)
        assert Settings.model_fields["webhook_retention_days"].default == 30
        kept = AppState.create(settings.model_copy(update={"webhook_retention_days": 0}))
        try:
            assert start_retention(kept) is None  # nothing to delete: no loop
        finally:
            await kept.close()
    finally:
        await state.close()


async def test_finished_webhook_deliveries_go_after_their_days_and_pending_ones_stay(
    api: Api, states: list[AppState]
) -> None:
    hook = {
        "name": f"crm-{time.monotonic_ns()}",
        "url": "https://93.184.216.34/hooks",
        "events": ["lead.created"],
    }
    made = await api.ok("POST", "/api/webhooks/", api.admin, json=hook)
    rows = {  # (status, days since the last attempt)
        "old delivered": (DeliveryStatus.delivered, 40),
        "old dead": (DeliveryStatus.dead, 31),
        "old pending": (DeliveryStatus.pending, 400),
        "new delivered": (DeliveryStatus.delivered, 5),
    }
    ids = {name: uuid.uuid4() for name in rows}
    async with unit_of_work(states[0]) as ctx:
        for name, (status, age) in rows.items():
            when = utcnow() - timedelta(days=age)
            ctx.session.add(
                WebhookDelivery(
                    id=ids[name], subscription_id=uuid.UUID(made["id"]),
                    event=WebhookEvent.lead_created, event_id=uuid.uuid4(), occurred_at=when,
                    payload={"id": name}, status=status, next_attempt_at=when, attempts=1,
                    created_at=when, updated_at=when,
                )
            )  # fmt: skip
    assert states[0].settings.webhook_retention_days == 30
    results = await asyncio.gather(*(run_webhooks_once(s) for s in states))
    assert sorted(results, key=str) == [2, None]  # one replica ran it
    async with states[0].sessions() as session:
        left = set(
            await session.scalars(
                select(col(WebhookDelivery.id)).where(col(WebhookDelivery.id).in_(ids.values()))
            )
        )
    assert left == {ids["old pending"], ids["new delivered"]}


async def test_of_two_replicas_one_runs_it_per_period(api: Api, states: list[AppState]) -> None:
    ages = [90, 90]
    _thread, ids = await _thread_with_ages(api, ages)
    await _age(states[0], ids, ages)
    results = await asyncio.gather(*(run_once(s) for s in states))
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0] >= 2, results
    assert await run_once(states[0]) is None  # the period is taken until it ends
    assert await _left(states[0], ids) == set()


async def test_a_failed_run_gives_the_period_back_for_the_next_try(
    settings: Settings, states: list[AppState]
) -> None:
    """A replica whose database is down claims the period, fails and releases it at once,
    so a healthy replica need not wait a whole period to run."""
    broken = AppState.create(unreachable(settings, history_retention_days=30))
    try:
        with pytest.raises(OSError):
            await run_once(broken)
    finally:
        await broken.close()
    assert await run_once(states[0]) is not None


async def test_the_loop_started_with_the_service_deletes_and_stops_when_asked(
    api: Api, states: list[AppState]
) -> None:
    ages = [45, 0]
    _thread, ids = await _thread_with_ages(api, ages)
    await _age(states[0], ids, ages)
    task = start_retention(states[0])
    assert task is not None

    async def deleted() -> bool:
        return await _left(states[0], ids) == {ids[-1]}

    await until(deleted, 20, "the loop's first run deleted the old message")
    await stop_retention(task)
    assert task.cancelled()
    await stop_retention(None)  # retention off: nothing was started, nothing to stop


async def test_two_rest_service_processes_delete_old_history_once(
    stack: Stack, api: Api, states: list[AppState]
) -> None:
    ages = [45, 45, 45, 2]
    _thread, ids = await _thread_with_ages(api, ages)
    await _age(states[0], ids, ages)
    env = {"HISTORY_RETENTION_DAYS": "30"}
    first = stack.start("rest_service", env=env)
    second = stack.start("rest_service", name="rest_service_2", env=env)

    async def deleted() -> bool:
        return await _left(states[0], ids) == {ids[-1]}

    await until(deleted, 20, "old messages deleted")
    async with httpx.AsyncClient() as http:

        async def claimed() -> list[list[tuple[str, float]]]:
            """Each replica's claims (outcome, count); empty until both have tried."""
            texts = [(await http.get(f"{p.url}/metrics")).text for p in (first, second)]
            claims = [sorted((o, float(n)) for o, n in CLAIMS.findall(text)) for text in texts]
            return claims if all(claims) else []

        claims = sorted(await until(claimed, 20, "both replicas tried the period"))
        assert claims == [[("ran", 1.0)], [("taken", 1.0)]], claims
        metrics = "".join([(await http.get(f"{p.url}/metrics")).text for p in (first, second)])

    def logged() -> list[int]:
        runs = [p.logs().count('"history_retention_ran"') for p in (first, second)]
        return runs if sum(runs) else []

    runs = await until(logged, 10, "the run logged")
    assert sorted(runs) == [0, 1], runs
    counted = re.findall(r"^smart_assistant_history_retention_deleted_total (\S+)$", metrics, re.M)
    assert sorted(float(c) for c in counted)[-1] >= 3, counted


async def test_the_loop_outlives_a_database_outage_and_tries_again(settings: Settings) -> None:
    """A background loop that died on the first outage would never delete anything again
    (until a restart): each failure is logged, and the next try comes."""
    # a try a second
    down = unreachable(settings, history_retention_days=30, history_retention_interval_seconds=24)
    broken = AppState.create(down)
    try:
        with capture_logs() as logs:
            task = start_retention(broken)
            assert task is not None

            async def failed_twice() -> bool:
                failures = [e for e in logs if e["event"] == "history_retention_failed"]
                return len(failures) >= 2

            await until(failed_twice, 20, "two failed tries, the second after the first")
            assert not task.done()
            await stop_retention(task)
        assert {e.get("error") for e in logs if e["event"] == "history_retention_failed"} <= {
            "OSError",
            "ConnectionRefusedError",
        }
    finally:
        await broken.close()
