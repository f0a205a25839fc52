"""/api/api-clients: the outside programs that may call the public API, and their keys.
Keeping them is the admin's; checking a key is the channels service's (the one service that
serves those programs), with the `api_clients` right."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, api_key_checkers_only
from rest_service.app.domain import api_clients
from rest_service.app.models.api_client import (
    ApiClientCreate,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithKey,
    AuthenticatedClient,
    KeyCheck,
)

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


@router.post(PREFIX, response_model=ApiClientWithKey, status_code=201, dependencies=[admin_only])
async def create_api_client(
    ctx: UnitOfWorkDep, data: ApiClientCreate, response: Response
) -> object:
    """`key` is in this response only; later, `key_prefix`."""
    client, key = await api_clients.create_client(ctx, data)
    response.headers["Cache-Control"] = NO_STORE
    return api_clients.with_key(client, key)


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


@router.delete(f"{PREFIX}/{{client_id}}", status_code=204, dependencies=[admin_only])
async def revoke_api_client(ctx: UnitOfWorkDep, client_id: uuid.UUID) -> None:
    """Revokes: the key stops at once; the row stays, with `revoked_at`."""
    await api_clients.revoke_client(ctx, client_id)
