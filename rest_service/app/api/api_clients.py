"""/api/api-clients: the outside programs that may call the public API, their keys and their
webhook deliveries. Keeping them is the admin's; checking a key and queueing a delivery is
the channels service's (the one service that serves those programs), with the `api_clients`
right."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, api_client_deliverers, api_key_checkers_only
from rest_service.app.domain import api_clients
from rest_service.app.models.api_client import (
    ApiClientCreate,
    ApiClientCreated,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithKey,
    ApiClientWithWebhookSecret,
    AuthenticatedClient,
    KeyCheck,
)
from rest_service.app.models.webhook import ApiDeliveryCreate, DeliveryPublic, DeliveryStatus

PREFIX = "/api/api-clients"
#: An answer that carries a key is kept by no cache or proxy on the way.
NO_STORE = "no-store"
router = APIRouter(tags=["api clients"], responses=ERRORS)


@router.post(f"{PREFIX}/authenticate", response_model=AuthenticatedClient)
async def authenticate(
    ctx: UnitOfWorkDep, data: KeyCheck, _caller: object = api_key_checkers_only
) -> object:
    """The live client a key belongs to; 401, the same for an unknown, malformed or revoked
    key."""
    return await api_clients.authenticate(ctx, data.key)


@router.get(PREFIX, response_model=list[ApiClientPublic], dependencies=[admin_only])
async def list_api_clients(ctx: UnitOfWorkDep, page: PageDep, response: Response) -> object:
    rows, total = await api_clients.list_clients(ctx, page)
    set_total(response, total)
    return rows


@router.post(PREFIX, response_model=ApiClientCreated, status_code=201, dependencies=[admin_only])
async def create_api_client(
    ctx: UnitOfWorkDep, data: ApiClientCreate, response: Response
) -> object:
    """`key` and `webhook_secret` are in this response only; later, `key_prefix` and
    `webhook_secret_masked`."""
    client, key, webhook_secret = await api_clients.create_client(ctx, data)
    response.headers["Cache-Control"] = NO_STORE
    return api_clients.created(client, key, webhook_secret)


@router.get(f"{PREFIX}/{{client_id}}", response_model=ApiClientPublic, dependencies=[admin_only])
async def get_api_client(ctx: UnitOfWorkDep, client_id: uuid.UUID) -> object:
    return api_clients.public(await api_clients.get_client(ctx, client_id))


@router.patch(f"{PREFIX}/{{client_id}}", response_model=ApiClientPublic, dependencies=[admin_only])
async def update_api_client(
    ctx: UnitOfWorkDep, client_id: uuid.UUID, data: ApiClientUpdate
) -> object:
    return api_clients.public(await api_clients.update_client(ctx, client_id, data))


@router.post(
    f"{PREFIX}/{{client_id}}/key", response_model=ApiClientWithKey, dependencies=[admin_only]
)
async def rotate_api_client_key(
    ctx: UnitOfWorkDep, client_id: uuid.UUID, response: Response
) -> object:
    """A new key, shown in this response only; the old one stops at once. 409 if revoked."""
    client, key = await api_clients.rotate_key(ctx, client_id)
    response.headers["Cache-Control"] = NO_STORE
    return api_clients.with_key(client, key)


@router.post(
    f"{PREFIX}/{{client_id}}/webhook-secret",
    response_model=ApiClientWithWebhookSecret,
    dependencies=[admin_only],
)
async def renew_api_client_webhook_secret(
    ctx: UnitOfWorkDep, client_id: uuid.UUID, response: Response
) -> object:
    """A new webhook signing secret, shown in this response only; deliveries sent from now on
    are signed with it. 409 if revoked."""
    client, secret = await api_clients.renew_webhook_secret(ctx, client_id)
    response.headers["Cache-Control"] = NO_STORE
    return api_clients.with_webhook_secret(client, secret)


@router.post(
    f"{PREFIX}/{{client_id}}/deliveries",
    response_model=DeliveryPublic,
    status_code=201,
    responses={200: {"model": DeliveryPublic, "description": "that event_id was queued"}},
)
async def queue_api_client_delivery(
    ctx: UnitOfWorkDep,
    client_id: uuid.UUID,
    data: ApiDeliveryCreate,
    response: Response,
    _caller: object = api_client_deliverers,
) -> object:
    """Queues `payload` for the client's webhook (201); the same `event_id` again answers
    200 with the delivery already queued. 409 naming `revoked_at` or `webhook_url`."""
    delivery, queued = await api_clients.queue_delivery(ctx, client_id, data)
    if not queued:
        response.status_code = 200
    return delivery


@router.get(
    f"{PREFIX}/{{client_id}}/deliveries",
    response_model=list[DeliveryPublic],
    dependencies=[admin_only],
)
async def list_api_client_deliveries(
    ctx: UnitOfWorkDep,
    client_id: uuid.UUID,
    page: PageDep,
    response: Response,
    status: DeliveryStatus | None = Query(default=None, description="only this status"),
) -> object:
    rows, total = await api_clients.list_deliveries(ctx, client_id, status, page)
    set_total(response, total)
    return rows


@router.delete(f"{PREFIX}/{{client_id}}", status_code=204, dependencies=[admin_only])
async def revoke_api_client(ctx: UnitOfWorkDep, client_id: uuid.UUID) -> None:
    """Revokes: the key stops at once; the row stays, with `revoked_at`."""
    await api_clients.revoke_client(ctx, client_id)
