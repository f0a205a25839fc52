"""Which assistant has which tool (and, for sub_assistant tools, which assistant answers)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col

from common.infrastructure.errors import ConflictError, FieldError, not_found
from rest_service.app.domain import live_config
from rest_service.app.domain.common import get_or_404, paged, paged_rows
from rest_service.app.domain.paging import Page
from rest_service.app.domain.tools import public as tool_public
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import (
    Assistant,
    AssistantToolLink,
    AssistantToolLinkCreate,
    AssistantToolPublic,
    Tool,
)

KIND = "tool link"


async def list_links(
    ctx: UnitOfWork, page: Page, assistant_id: uuid.UUID | None, tool_id: uuid.UUID | None
) -> tuple[list[AssistantToolLink], int]:
    stmt = select(AssistantToolLink).order_by(
        col(AssistantToolLink.created_at), col(AssistantToolLink.id)
    )
    if assistant_id is not None:
        stmt = stmt.where(col(AssistantToolLink.assistant_id) == assistant_id)
    if tool_id is not None:
        stmt = stmt.where(col(AssistantToolLink.tool_id) == tool_id)
    return await paged(ctx.session, stmt, page)


async def assistant_tools(
    ctx: UnitOfWork, assistant_id: uuid.UUID, page: Page
) -> tuple[list[AssistantToolPublic], int]:
    await get_or_404(ctx.session, Assistant, assistant_id, "assistant")
    stmt = (
        select(AssistantToolLink, Tool)
        .join(Tool, col(Tool.id) == col(AssistantToolLink.tool_id))
        .where(col(AssistantToolLink.assistant_id) == assistant_id)
        .order_by(col(Tool.name))
    )
    rows, total = await paged_rows(ctx.session, stmt, page)
    return [_as_assistant_tool(link, tool) for link, tool in rows], total


async def create_link(ctx: UnitOfWork, data: AssistantToolLinkCreate) -> AssistantToolLink:
    existing = await _find(ctx, data.assistant_id, data.tool_id)
    if existing is not None:
        reason = "this assistant already has this tool"
        raise ConflictError(f"{reason} (link {existing.id})", [FieldError("tool_id", reason)])
    return await _add(ctx, data)


async def attach_tool(
    ctx: UnitOfWork, assistant_id: uuid.UUID, tool_id: uuid.UUID
) -> tuple[AssistantToolLink, bool]:
    """Idempotent: the existing link (re-activated) or a new one; True when made now."""
    existing = await _find(ctx, assistant_id, tool_id)
    if existing is None:
        data = AssistantToolLinkCreate(assistant_id=assistant_id, tool_id=tool_id)
        return await _add(ctx, data), True
    if not existing.is_active:
        existing.is_active = True
        await live_config.config_changed(ctx)
    return existing, False


async def detach_tool(ctx: UnitOfWork, assistant_id: uuid.UUID, tool_id: uuid.UUID) -> None:
    await get_or_404(ctx.session, Assistant, assistant_id, "assistant")
    await get_or_404(ctx.session, Tool, tool_id, "tool")
    link = await _find(ctx, assistant_id, tool_id)
    if link is None:
        raise not_found("link of tool", f"{tool_id} to assistant {assistant_id}")
    await ctx.session.delete(link)
    await live_config.config_changed(ctx)


async def update_link(
    ctx: UnitOfWork, link_id: uuid.UUID, *, is_active: bool, sub_assistant_id: uuid.UUID | None
) -> AssistantToolLink:
    """A link's pair is fixed (delete it and make another); its state and answerer change."""
    link = await get_or_404(ctx.session, AssistantToolLink, link_id, KIND)
    if sub_assistant_id is not None:
        await get_or_404(ctx.session, Assistant, sub_assistant_id, "sub-assistant")
    link.is_active, link.sub_assistant_id = is_active, sub_assistant_id
    await live_config.config_changed(ctx)
    return link


async def delete_link(ctx: UnitOfWork, link_id: uuid.UUID) -> None:
    link = await get_or_404(ctx.session, AssistantToolLink, link_id, KIND)
    await ctx.session.delete(link)
    await live_config.config_changed(ctx)


async def _add(ctx: UnitOfWork, data: AssistantToolLinkCreate) -> AssistantToolLink:
    await get_or_404(ctx.session, Assistant, data.assistant_id, "assistant")
    await get_or_404(ctx.session, Tool, data.tool_id, "tool")
    if data.sub_assistant_id is not None:
        await get_or_404(ctx.session, Assistant, data.sub_assistant_id, "sub-assistant")
    link = AssistantToolLink.model_validate(data)
    ctx.session.add(link)
    await live_config.config_changed(ctx)
    return link


async def _find(
    ctx: UnitOfWork, assistant_id: uuid.UUID, tool_id: uuid.UUID
) -> AssistantToolLink | None:
    return await ctx.session.scalar(
        select(AssistantToolLink).where(
            col(AssistantToolLink.assistant_id) == assistant_id,
            col(AssistantToolLink.tool_id) == tool_id,
        )
    )


def _as_assistant_tool(link: AssistantToolLink, tool: Tool) -> AssistantToolPublic:
    return AssistantToolPublic.model_validate(
        {
            **tool_public(tool).model_dump(),
            "link_id": link.id,
            "link_is_active": link.is_active,
            "sub_assistant_id": link.sub_assistant_id or tool.assistant_id,
        }
    )
