"""History retention: chat messages older than `HISTORY_RETENTION_DAYS` are deleted once a
period (`HISTORY_RETENTION_INTERVAL_SECONDS`, a day) by one rest_service replica; so are the
outgoing webhooks' finished deliveries (delivered or dead) `WEBHOOK_RETENTION_DAYS` after
their last attempt, which would otherwise grow the outbox by a row per event for ever.

It runs here, in rest_service's lifespan, because rest_service owns `chat_messages`: a
cron_service job would need an endpoint that deletes history in bulk and a token right to
call it, for a task that needs neither. Replicas claim each period in Redis (`SET NX` with
the period as its lifetime), so one of them runs it. Deletes go in batches by primary key,
each its own short transaction, so a large table is never locked for long and the
assistant's writes go on meanwhile. `/forget` is untouched: it deletes a user's history
at once, whatever its age."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy import Select, delete, select
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from rest_service.app.database import create_sessionmaker
from rest_service.app.domain.unit_of_work import Resources, unit_of_work
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.webhook import DeliveryStatus, WebhookDelivery
from rest_service.app.state import AppState

log = get_logger(__name__)

#: Rows per delete statement: milliseconds each, so no request waits behind one.
BATCH = 5_000

DELETED = Counter(
    "smart_assistant_history_retention_deleted_total",
    "Chat messages deleted for being older than HISTORY_RETENTION_DAYS",
)
DELIVERIES_DELETED = Counter(
    "smart_assistant_webhook_retention_deleted_total",
    "Finished webhook deliveries deleted for being older than WEBHOOK_RETENTION_DAYS",
)
CLAIMS = Counter(
    "smart_assistant_history_retention_claims_total",
    "Retention periods this replica tried to claim: it ran (`ran`), or another had it (`taken`)",
    ["outcome"],
)


async def delete_older_than(resources: Resources, cutoff: datetime, batch: int = BATCH) -> int:
    """Deletes every message created before `cutoff`, `batch` rows per unit of work."""
    oldest = select(col(ChatMessage.id)).where(col(ChatMessage.created_at) < cutoff)
    return await _delete_in_batches(resources, ChatMessage, col(ChatMessage.id), oldest, batch)


async def delete_deliveries_older_than(
    resources: Resources, cutoff: datetime, batch: int = BATCH
) -> int:
    """Deletes the delivered and dead webhook deliveries last attempted before `cutoff`; a
    pending one stays, whatever its age."""
    done = (DeliveryStatus.delivered, DeliveryStatus.dead)
    oldest = select(col(WebhookDelivery.id)).where(
        col(WebhookDelivery.status).in_(done), col(WebhookDelivery.updated_at) < cutoff
    )
    key = col(WebhookDelivery.id)
    return await _delete_in_batches(resources, WebhookDelivery, key, oldest, batch)


async def _delete_in_batches(
    resources: Resources, table: type[Any], key: Any, chosen: Select[Any], batch: int
) -> int:
    """Deletes the rows `chosen` selects the keys of, `batch` per unit of work."""
    total = 0
    while True:
        some = chosen.order_by(key).limit(batch).scalar_subquery()
        async with unit_of_work(resources, "retention") as ctx:
            result = await ctx.session.execute(delete(table).where(key.in_(some)))
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)


async def claim_period(state: AppState) -> bool:
    """True for the one replica that runs retention in the current period."""
    names = Names(state.settings.redis_key_prefix)
    period_ms = int(state.settings.history_retention_interval_seconds * 1000)
    return bool(await state.redis.set(names.history_retention_claim, "1", nx=True, px=period_ms))


async def release_period(state: AppState) -> None:
    """After a failed run, so another try (of any replica) need not wait a whole period."""
    with suppress(RedisError):
        await state.redis.delete(Names(state.settings.redis_key_prefix).history_retention_claim)


async def run_once(state: AppState, now: datetime | None = None) -> int | None:
    """Messages deleted, or None when retention is off or another replica has the period."""
    days = state.settings.history_retention_days
    if days <= 0:
        return None
    if not await claim_period(state):
        CLAIMS.labels("taken").inc()
        return None
    cutoff = (now or utcnow()) - timedelta(days=days)
    try:
        deleted = await delete_older_than(state, cutoff)
    except BaseException:
        await release_period(state)
        raise
    DELETED.inc(deleted)
    log.info("history_retention_ran", deleted=deleted, days=days, cutoff=cutoff.isoformat())
    CLAIMS.labels("ran").inc()
    return deleted


async def run_webhooks_once(state: AppState, now: datetime | None = None) -> int | None:
    """Finished deliveries deleted, or None when kept for ever or another replica has the
    period."""
    days = state.settings.webhook_retention_days
    if days <= 0:
        return None
    names = Names(state.settings.redis_key_prefix)
    period_ms = int(state.settings.history_retention_interval_seconds * 1000)
    if not await state.redis.set(names.webhook_retention_claim, "1", nx=True, px=period_ms):
        return None
    cutoff = (now or utcnow()) - timedelta(days=days)
    try:
        deleted = await delete_deliveries_older_than(state, cutoff)
    except BaseException:
        with suppress(RedisError):
            await state.redis.delete(names.webhook_retention_claim)
        raise
    DELIVERIES_DELETED.inc(deleted)
    log.info("webhook_retention_ran", deleted=deleted, days=days, cutoff=cutoff.isoformat())
    return deleted


async def retention_loop(state: AppState) -> None:
    """Tries 24 times a period, so a lapsed claim is taken up within the hour."""
    pause = max(1.0, state.settings.history_retention_interval_seconds / 24)
    while True:
        for run, failed in ((run_once, "history"), (run_webhooks_once, "webhook")):
            try:
                await run(state)
            except Exception as exc:  # a background loop must outlive any one failure
                log.warning(f"{failed}_retention_failed", error=type(exc).__name__)
        await asyncio.sleep(pause)


def start_retention(state: AppState) -> asyncio.Task[None] | None:
    settings = state.settings
    if settings.history_retention_days <= 0 and settings.webhook_retention_days <= 0:
        return None
    # On sessions of its own (never a request's), as the handoff sweep.
    state = dataclasses.replace(state, sessions=create_sessionmaker(state.engine))
    return asyncio.create_task(retention_loop(state), name="history_retention")


async def stop_retention(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
