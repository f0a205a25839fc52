"""/api/config: the live snapshot, its version, import/export and the change history;
/api/stats."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from common.infrastructure.wire import ConfigSnapshot
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import history, live_config, revert, stats, transfer
from rest_service.app.domain.version import current_version
from rest_service.app.models.base import BIGINT_MAX
from rest_service.app.models.config_state import ConfigVersion
from rest_service.app.models.history import ConfigChangePublic
from rest_service.app.models.snapshot import ConfigDocument, ImportResult
from rest_service.app.models.stats import Stats

router = APIRouter(tags=["config"], responses=ERRORS)


@router.get("/api/config", response_model=ConfigSnapshot, dependencies=[any_token])
async def get_config(ctx: UnitOfWorkDep) -> Response:
    """The snapshot the assistant runs on: version, secretary, active assistants with their
    active tools and schemas, active models with their provider (never a key). Cached in
    Redis by version; the version is always checked against Postgres."""
    return Response(await live_config.config_payload(ctx), media_type="application/json")


@router.get("/api/config/version", response_model=ConfigVersion, dependencies=[any_token])
async def get_config_version(ctx: UnitOfWorkDep) -> object:
    """The cheap poll behind the live reload (a lost `config:updated` is caught by it)."""
    return ConfigVersion(version=await current_version(ctx.session))


@router.get("/api/config/export", response_model=ConfigDocument, dependencies=[admin_only])
async def export_config(ctx: UnitOfWorkDep) -> object:
    """Assistants, tools (with schemas), links, providers (no keys), models, by name."""
    return await transfer.export_config(ctx)


@router.post("/api/config/import", response_model=ImportResult, dependencies=[admin_only])
async def import_config(ctx: UnitOfWorkDep, doc: ConfigDocument) -> object:
    """Idempotent by name: creates what is missing, updates what differs, deletes nothing.
    One transaction and one version bump; a bad item is a 422 naming it."""
    return await transfer.import_config(ctx, doc)


@router.get("/api/stats", response_model=Stats, dependencies=[admin_only])
async def get_stats(ctx: UnitOfWorkDep, days: Annotated[int, Query(ge=1, le=3650)] = 30) -> object:
    """Messages per day, active users, tool calls and failure rates, tokens and latency per
    model, reminders on time / late / missed, over the last `days`."""
    return await stats.collect(ctx, days)


Entity = Literal["assistant", "tool", "link", "provider", "model"]


@router.get(
    "/api/config/changes", response_model=list[ConfigChangePublic], dependencies=[admin_only]
)
async def list_config_changes(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    entity: Entity | None = None,
    entity_id: uuid.UUID | None = None,
) -> object:
    """The change history of assistants, tools, links, providers and models, newest first:
    who (`actor`), when, the version it made, and the row before and after (never a key)."""
    rows, total = await history.list_changes(ctx.session, page, entity, entity_id)
    set_total(response, total)
    return rows


@router.post(
    "/api/config/changes/{change_id}/revert",
    response_model=ConfigChangePublic,
    dependencies=[admin_only],
)
async def revert_config_change(
    ctx: UnitOfWorkDep, change_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)]
) -> object:
    """Put the object back as this entry recorded it (after the change; for a deletion, as it
    was before). Goes through the usual checks; bumps the version, publishes, is recorded."""
    return await revert.revert_to(ctx, change_id)
