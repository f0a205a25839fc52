"""Tool invocations: one row per tool call, for stats and for seeing what failed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from rest_service.app.domain.common import get_or_404, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant, Tool
from rest_service.app.models.invocation import ToolInvocation, ToolInvocationCreate
from rest_service.app.models.user import User


async def append_invocation(ctx: UnitOfWork, data: ToolInvocationCreate) -> ToolInvocation:
    """Ids it names must exist (404 names the missing one)."""
    if data.tool_id is not None:
        await get_or_404(ctx.session, Tool, data.tool_id, "tool")
    if data.assistant_id is not None:
        await get_or_404(ctx.session, Assistant, data.assistant_id, "assistant")
    if data.user_id is not None:
        await get_or_404(ctx.session, User, data.user_id, "user")
    invocation = ToolInvocation.model_validate(data)
    ctx.session.add(invocation)
    await ctx.session.flush()
    return invocation


async def list_invocations(
    ctx: UnitOfWork,
    page: Page,
    *,
    tool_name: str | None,
    user_id: uuid.UUID | None,
    ok: bool | None,
    since: datetime | None,
) -> tuple[list[ToolInvocation], int]:
    stmt = select(ToolInvocation).order_by(col(ToolInvocation.id).desc())
    if tool_name is not None:
        stmt = stmt.where(col(ToolInvocation.tool_name) == tool_name)
    if user_id is not None:
        stmt = stmt.where(col(ToolInvocation.user_id) == user_id)
    if ok is not None:
        stmt = stmt.where(col(ToolInvocation.ok) == ok)
    if since is not None:
        stmt = stmt.where(col(ToolInvocation.created_at) >= since)
    return await paged(ctx.session, stmt, page)
