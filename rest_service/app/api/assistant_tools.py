"""/api/assistant-tools: the links themselves (the design notes' path)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only
from rest_service.app.domain import links
from rest_service.app.models.assistant import AssistantToolLinkCreate, AssistantToolLinkPublic

router = APIRouter(prefix="/api/assistant-tools", tags=["assistants"], responses=ERRORS)


@router.get("/", response_model=list[AssistantToolLinkPublic], dependencies=[admin_only])
async def list_links(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    assistant_id: uuid.UUID | None = None,
    tool_id: uuid.UUID | None = None,
) -> object:
    rows, total = await links.list_links(ctx, page, assistant_id, tool_id)
    set_total(response, total)
    return rows


@router.post(
    "/", response_model=AssistantToolLinkPublic, status_code=201, dependencies=[admin_only]
)
async def create_link(ctx: UnitOfWorkDep, data: AssistantToolLinkCreate) -> object:
    """409 when the assistant already has the tool."""
    return await links.create_link(ctx, data)


@router.delete("/{link_id}", status_code=204, dependencies=[admin_only])
async def delete_link(ctx: UnitOfWorkDep, link_id: uuid.UUID) -> None:
    await links.delete_link(ctx, link_id)
