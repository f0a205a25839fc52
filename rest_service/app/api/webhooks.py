"""/api/webhooks: an admin's subscriptions to business events, their deliveries and replays.
Admin only: a subscription decides where our data goes, and no service needs to."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only
from rest_service.app.domain import webhooks
from rest_service.app.models.webhook import (
    DeliveryPublic,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"], responses=ERRORS, dependencies=[admin_only])


@router.get("/api/webhooks/", response_model=list[WebhookPublic])
async def list_webhooks(ctx: UnitOfWorkDep, page: PageDep, response: Response) -> object:
    rows, total = await webhooks.list_subscriptions(ctx, page)
    set_total(response, total)
    return rows


@router.post("/api/webhooks/", response_model=WebhookCreated, status_code=201)
async def create_webhook(ctx: UnitOfWorkDep, data: WebhookCreate) -> object:
    """`secret` (generated when left out) is in this response only; later, `secret_masked`."""
    sub, secret = await webhooks.create_subscription(ctx, data)
    return webhooks.created(sub, secret)


@router.get("/api/webhooks/{webhook_id}", response_model=WebhookPublic)
async def get_webhook(ctx: UnitOfWorkDep, webhook_id: uuid.UUID) -> object:
    return webhooks.public(await webhooks.get_subscription(ctx, webhook_id))


@router.put("/api/webhooks/{webhook_id}", response_model=WebhookPublic)
async def update_webhook(ctx: UnitOfWorkDep, webhook_id: uuid.UUID, data: WebhookUpdate) -> object:
    """`secret`: a new one replaces the old (write-only)."""
    return webhooks.public(await webhooks.update_subscription(ctx, webhook_id, data))


@router.delete("/api/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(ctx: UnitOfWorkDep, webhook_id: uuid.UUID) -> None:
    await webhooks.delete_subscription(ctx, webhook_id)


@router.get("/api/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    ctx: UnitOfWorkDep,
    webhook_id: uuid.UUID,
    page: PageDep,
    response: Response,
    status: DeliveryStatus | None = Query(default=None, description="only this status"),
) -> object:
    rows, total = await webhooks.list_deliveries(ctx, webhook_id, status, page)
    set_total(response, total)
    return rows


@router.post("/api/webhooks/deliveries/{delivery_id}/replay", response_model=DeliveryPublic)
async def replay_delivery(ctx: UnitOfWorkDep, delivery_id: uuid.UUID) -> object:
    """A dead or delivered delivery is sent again, same event id; 409 while it is pending."""
    return await webhooks.replay(ctx, delivery_id)
