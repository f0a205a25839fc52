"""/api/tools: what the model may call, with their argument schemas."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from common.infrastructure.wire import ToolType
from rest_service.app.api.common import ERRORS, Cascade
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import tools
from rest_service.app.models.assistant import ToolCreate, ToolPublic, ToolUpdate

router = APIRouter(prefix="/api/tools", tags=["tools"], responses=ERRORS)


@router.get("/", response_model=list[ToolPublic], dependencies=[any_token])
async def list_tools(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    tool_type: ToolType | None = None,
    is_active: bool | None = None,
) -> object:
    rows, total = await tools.list_tools(ctx, page, tool_type, is_active)
    set_total(response, total)
    return rows


@router.post("/", response_model=ToolPublic, status_code=201, dependencies=[admin_only])
async def create_tool(ctx: UnitOfWorkDep, data: ToolCreate) -> object:
    """`input_schema` must be a valid JSON Schema of an object (422 names the problem)."""
    return tools.public(await tools.create_tool(ctx, data))


@router.get("/{tool_id}", response_model=ToolPublic, dependencies=[any_token])
async def get_tool(ctx: UnitOfWorkDep, tool_id: uuid.UUID) -> object:
    return tools.public(await tools.get_tool(ctx, tool_id))


@router.put("/{tool_id}", response_model=ToolPublic, dependencies=[admin_only])
async def update_tool(ctx: UnitOfWorkDep, tool_id: uuid.UUID, data: ToolUpdate) -> object:
    return tools.public(await tools.update_tool(ctx, tool_id, data))


@router.delete("/{tool_id}", status_code=204, dependencies=[admin_only])
async def delete_tool(ctx: UnitOfWorkDep, tool_id: uuid.UUID, cascade: Cascade = False) -> None:
    """409 while assistants have it, unless `cascade` (which removes those links)."""
    await tools.delete_tool(ctx, tool_id, cascade)
