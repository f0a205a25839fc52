"""Assistants: the secretary and its sub-assistants (at most one secretary at a time)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import col

from rest_service.app.domain import bots, live_config
from rest_service.app.domain.common import (
    apply_update,
    count,
    get_or_404,
    name_taken,
    non_null,
    paged,
)
from rest_service.app.domain.llm_models import require_model
from rest_service.app.domain.paging import Page
from rest_service.app.domain.references import Reference, refuse_if_referenced
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import (
    Assistant,
    AssistantCreate,
    AssistantToolLink,
    AssistantUpdate,
    Tool,
)
from rest_service.app.models.thread import UserAssistantThread

KIND = "assistant"


async def list_assistants(
    ctx: UnitOfWork, page: Page, is_active: bool | None, is_secretary: bool | None
) -> tuple[list[Assistant], int]:
    stmt = select(Assistant).order_by(col(Assistant.name))
    if is_active is not None:
        stmt = stmt.where(col(Assistant.is_active) == is_active)
    if is_secretary is not None:
        stmt = stmt.where(col(Assistant.is_secretary) == is_secretary)
    return await paged(ctx.session, stmt, page)


async def get_assistant(ctx: UnitOfWork, assistant_id: uuid.UUID) -> Assistant:
    return await get_or_404(ctx.session, Assistant, assistant_id, KIND)


async def create_assistant(ctx: UnitOfWork, data: AssistantCreate) -> Assistant:
    await _name_free(ctx, data.name)
    await require_model(ctx, data.model, "model")
    assistant = Assistant.model_validate(data)
    if assistant.is_secretary:
        await _demote_secretary(ctx, assistant.id)
    ctx.session.add(assistant)
    await live_config.config_changed(ctx)
    return assistant


async def update_assistant(
    ctx: UnitOfWork, assistant_id: uuid.UUID, data: AssistantUpdate
) -> Assistant:
    assistant = await get_assistant(ctx, assistant_id)
    changes = non_null(Assistant, data.model_dump(exclude_unset=True))
    if changes.get("name", assistant.name) != assistant.name:
        await _name_free(ctx, changes["name"])
    if "model" in changes:
        await require_model(ctx, changes["model"], "model")
    if changes.get("is_secretary"):
        await _demote_secretary(ctx, assistant.id)
    apply_update(assistant, changes)
    await live_config.config_changed(ctx)
    return assistant


async def delete_assistant(ctx: UnitOfWork, assistant_id: uuid.UUID, cascade: bool) -> None:
    """Under `cascade`: its links, the sub_assistant tools that call it, its threads
    (their messages stay in the conversation's history) and the bots speaking as it."""
    assistant = await get_assistant(ctx, assistant_id)
    links = or_(
        col(AssistantToolLink.assistant_id) == assistant_id,
        col(AssistantToolLink.sub_assistant_id) == assistant_id,
    )
    tool_ids = select(col(Tool.id)).where(col(Tool.assistant_id) == assistant_id)
    threads = col(UserAssistantThread.assistant_id) == assistant_id
    calls_it = col(Tool.assistant_id) == assistant_id
    speaking = await bots.bots_of_assistant(ctx, assistant_id)
    refs = [
        Reference("assistant_tool_link", await count(ctx.session, links), "tool links"),
        Reference("tools", await count(ctx.session, calls_it), "sub_assistant tools calling it"),
        Reference("user_assistant_threads", await count(ctx.session, threads), "threads"),
        Reference("bots", len(speaking), "bots speaking as it"),
    ]
    refuse_if_referenced(KIND, assistant_id, refs, cascade)
    for bot in speaking:
        await bots.delete_row(ctx, bot)
    await ctx.session.execute(delete(AssistantToolLink).where(links))
    await ctx.session.execute(
        delete(AssistantToolLink).where(col(AssistantToolLink.tool_id).in_(tool_ids))
    )
    await ctx.session.execute(delete(Tool).where(calls_it))
    await ctx.session.execute(delete(UserAssistantThread).where(threads))
    await ctx.session.delete(assistant)
    await live_config.config_changed(ctx)


async def _demote_secretary(ctx: UnitOfWork, keep: uuid.UUID) -> None:
    """Making one assistant the secretary takes the role from the one that had it."""
    await ctx.session.execute(
        update(Assistant)
        .where(col(Assistant.is_secretary), col(Assistant.id) != keep)
        .values(is_secretary=False)
    )


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    taken = await ctx.session.scalar(
        select(func.count()).select_from(Assistant).where(col(Assistant.name) == name)
    )
    if taken:
        raise name_taken(KIND, "name", name)
