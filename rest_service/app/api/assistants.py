"""/api/assistants: the assistants, and the tools each one has."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS, Cascade
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import assistants, links
from rest_service.app.models.assistant import (
    AssistantCreate,
    AssistantPublic,
    AssistantToolLinkPublic,
    AssistantToolPublic,
    AssistantUpdate,
)

router = APIRouter(prefix="/api/assistants", tags=["assistants"], responses=ERRORS)


@router.get("/", response_model=list[AssistantPublic], dependencies=[any_token])
async def list_assistants(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    is_active: bool | None = None,
    is_secretary: bool | None = None,
) -> object:
    rows, total = await assistants.list_assistants(ctx, page, is_active, is_secretary)
    set_total(response, total)
    return rows


@router.post("/", response_model=AssistantPublic, status_code=201, dependencies=[admin_only])
async def create_assistant(ctx: UnitOfWorkDep, data: AssistantCreate) -> object:
    """Making it the secretary takes the role from the current one."""
    return await assistants.create_assistant(ctx, data)


@router.get("/{assistant_id}", response_model=AssistantPublic, dependencies=[any_token])
async def get_assistant(ctx: UnitOfWorkDep, assistant_id: uuid.UUID) -> object:
    return await assistants.get_assistant(ctx, assistant_id)


@router.put("/{assistant_id}", response_model=AssistantPublic, dependencies=[admin_only])
async def update_assistant(
    ctx: UnitOfWorkDep, assistant_id: uuid.UUID, data: AssistantUpdate
) -> object:
    return await assistants.update_assistant(ctx, assistant_id, data)


@router.delete("/{assistant_id}", status_code=204, dependencies=[admin_only])
async def delete_assistant(
    ctx: UnitOfWorkDep, assistant_id: uuid.UUID, cascade: Cascade = False
) -> None:
    """409 while links, sub_assistant tools or threads refer to it, unless `cascade`."""
    await assistants.delete_assistant(ctx, assistant_id, cascade)


@router.get(
    "/{assistant_id}/tools", response_model=list[AssistantToolPublic], dependencies=[any_token]
)
async def list_assistant_tools(
    ctx: UnitOfWorkDep, assistant_id: uuid.UUID, page: PageDep, response: Response
) -> object:
    rows, total = await links.assistant_tools(ctx, assistant_id, page)
    set_total(response, total)
    return rows


@router.post(
    "/{assistant_id}/tools/{tool_id}",
    response_model=AssistantToolLinkPublic,
    status_code=201,
    responses={200: {"model": AssistantToolLinkPublic, "description": "already linked"}},
    dependencies=[admin_only],
)
async def attach_tool(
    ctx: UnitOfWorkDep, assistant_id: uuid.UUID, tool_id: uuid.UUID, response: Response
) -> object:
    link, made = await links.attach_tool(ctx, assistant_id, tool_id)
    response.status_code = 201 if made else 200
    return link


@router.delete("/{assistant_id}/tools/{tool_id}", status_code=204, dependencies=[admin_only])
async def detach_tool(ctx: UnitOfWorkDep, assistant_id: uuid.UUID, tool_id: uuid.UUID) -> None:
    await links.detach_tool(ctx, assistant_id, tool_id)
