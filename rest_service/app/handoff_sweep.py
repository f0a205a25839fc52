"""The handoff sweep: a handoff no operator answered within its bot's minutes expires (the
customer is told no one is free, a lead is recorded, the bot resumes; decision 0052).

Every replica runs one, each pass one short transaction that claims due rows with
`FOR UPDATE SKIP LOCKED` (as the webhook delivery worker does), so two replicas never expire
one handoff twice. The clock is passed in: a test moves it past the wait instead of waiting."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from prometheus_client import Counter

from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from rest_service.app.database import create_sessionmaker
from rest_service.app.domain import handoffs
from rest_service.app.domain.unit_of_work import Resources, unit_of_work
from rest_service.app.state import AppState

log = get_logger(__name__)

EXPIRED = Counter(
    "smart_assistant_handoffs_expired_total",
    "Handoffs no operator answered within the bot's minutes",
)


async def sweep(resources: Resources, now: datetime | None = None) -> int:
    """Expires what is due at `now` (the wall clock by default), batch after batch; the count."""
    total = 0
    while True:
        async with unit_of_work(resources, "handoff-sweep") as ctx:
            expired = await handoffs.expire_due(ctx, now or utcnow())
        total += expired
        EXPIRED.inc(expired)
        if expired < handoffs.SWEEP_BATCH:
            return total


async def sweep_loop(resources: Resources, clock: Callable[[], datetime] = utcnow) -> None:
    pause = resources.settings.handoff_sweep_seconds
    while True:
        try:
            await sweep(resources, clock())
        except Exception as exc:  # a background loop must outlive any one failure
            log.warning("handoff_sweep_failed", error=type(exc).__name__)
        await asyncio.sleep(pause)


def start_sweep(state: AppState) -> asyncio.Task[None] | None:
    """On sessions of its own (never a request's); none when HANDOFF_SWEEP_SECONDS is 0."""
    if state.settings.handoff_sweep_seconds == 0:
        return None
    resources = dataclasses.replace(state, sessions=create_sessionmaker(state.engine))
    return asyncio.create_task(sweep_loop(resources), name="handoff_sweep")


async def stop_sweep(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
