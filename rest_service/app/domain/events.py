"""Business events for outgoing webhooks, written to the outbox (`webhook_deliveries`) in the
transaction of the change that caused them: a rolled-back change sends nothing, a committed
one is never lost (decision 0050). The delivery worker (`rest_service/app/webhook_delivery.py`)
sends them after the commit.

`data` of the lead events (what the Bitrix24 connector reads): `id` (our lead's id, required),
and any of `title`, `name`, `phone`, `email`, `comments`, `source`, `status`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.clock import utcnow
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.webhook import (
    DeliveryStatus,
    DeliveryTarget,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

#: The events the Bitrix24 connector sends on, when BITRIX24_WEBHOOK_URL is set.
BITRIX24_EVENTS = frozenset({WebhookEvent.lead_created, WebhookEvent.lead_updated})


async def emit_event(
    ctx: UnitOfWork, name: WebhookEvent, data: dict[str, Any], event_id: uuid.UUID | None = None
) -> uuid.UUID:
    """One delivery per active subscription to `name` (and one to Bitrix24 for a lead
    event), in `ctx`'s transaction. An `event_id` already emitted adds nothing: a caller
    that may run twice passes an id derived from what it records."""
    event_id = event_id or uuid.uuid4()
    now = utcnow()
    common = {
        "event": name,
        "event_id": event_id,
        "occurred_at": now,
        "payload": data,
        "next_attempt_at": now,
        "status": DeliveryStatus.pending,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    rows = [
        {**common, "id": uuid.uuid4(), "subscription_id": sub, "target": DeliveryTarget.webhook}
        for sub in await _subscribers(ctx, name)
    ]
    if ctx.settings.bitrix24_webhook_url and name in BITRIX24_EVENTS:
        bitrix = {"subscription_id": None, "target": DeliveryTarget.bitrix24}
        rows.append({**common, "id": uuid.uuid4(), **bitrix})
    if rows:
        await ctx.session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing())
        ctx.after_commit("webhooks", nudge_workers)
    return event_id


async def _subscribers(ctx: UnitOfWork, name: WebhookEvent) -> list[uuid.UUID]:
    found = await ctx.session.scalars(
        select(col(WebhookSubscription.id)).where(
            col(WebhookSubscription.is_active),
            col(WebhookSubscription.events).contains([name.value]),
        )
    )
    return list(found.all())


async def nudge_workers(ctx: UnitOfWork) -> None:
    """After the commit: the delivery workers look for due rows at once."""
    await ctx.cache.publish_webhooks()
