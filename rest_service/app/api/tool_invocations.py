"""/api/tool-invocations: one row per tool call the assistant made."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import invocations
from rest_service.app.models.base import AwareDatetime, Text
from rest_service.app.models.invocation import ToolInvocationCreate, ToolInvocationPublic

router = APIRouter(prefix="/api/tool-invocations", tags=["stats"], responses=ERRORS)


@router.post("/", response_model=ToolInvocationPublic, status_code=201, dependencies=[any_token])
async def append_invocation(ctx: UnitOfWorkDep, data: ToolInvocationCreate) -> object:
    return await invocations.append_invocation(ctx, data)


@router.get("/", response_model=list[ToolInvocationPublic], dependencies=[admin_only])
async def list_invocations(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    tool_name: Annotated[Text | None, Query(max_length=64)] = None,
    user_id: uuid.UUID | None = None,
    ok: bool | None = None,
    since: AwareDatetime | None = None,
) -> object:
    """Newest first."""
    rows, total = await invocations.list_invocations(
        ctx, page, tool_name=tool_name, user_id=user_id, ok=ok, since=since
    )
    set_total(response, total)
    return rows
