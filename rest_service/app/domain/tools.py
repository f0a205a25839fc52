"""Tools: what the model may call, with the JSON Schema of its arguments."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import delete, func, select
from sqlmodel import col

from common.infrastructure.errors import FieldError, ValidationFailedError, invalid
from common.infrastructure.wire import ToolType, mcp_config_error, mcp_writing_error
from rest_service.app.domain import live_config
from rest_service.app.domain.common import (
    apply_update,
    count,
    get_or_404,
    name_taken,
    non_null,
    paged,
)
from rest_service.app.domain.paging import Page
from rest_service.app.domain.references import Reference, refuse_if_referenced
from rest_service.app.domain.snapshot import parse_schema
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.validation import check_json_schema
from rest_service.app.models.assistant import (
    Assistant,
    AssistantToolLink,
    Tool,
    ToolCreate,
    ToolPublic,
    ToolUpdate,
)

KIND = "tool"


def public(tool: Tool) -> ToolPublic:
    return ToolPublic.model_validate(
        {**tool.model_dump(), "input_schema": parse_schema(tool.input_schema)}
    )


async def list_tools(
    ctx: UnitOfWork, page: Page, tool_type: ToolType | None, is_active: bool | None
) -> tuple[list[ToolPublic], int]:
    stmt = select(Tool).order_by(col(Tool.name))
    if tool_type is not None:
        stmt = stmt.where(col(Tool.tool_type) == tool_type)
    if is_active is not None:
        stmt = stmt.where(col(Tool.is_active) == is_active)
    rows, total = await paged(ctx.session, stmt, page)
    return [public(t) for t in rows], total


async def get_tool(ctx: UnitOfWork, tool_id: uuid.UUID) -> Tool:
    return await get_or_404(ctx.session, Tool, tool_id, KIND)


async def create_tool(ctx: UnitOfWork, data: ToolCreate) -> Tool:
    schema = check_json_schema(data.input_schema)
    await _name_free(ctx, data.name)
    await _check_sub_assistant(ctx, data.tool_type, data.assistant_id)
    _check_config(ctx, data.tool_type, data.config, known_only=True)
    tool = Tool.model_validate({**data.model_dump(), "input_schema": _schema_text(schema)})
    ctx.session.add(tool)
    await live_config.config_changed(ctx)
    return tool


async def update_tool(ctx: UnitOfWork, tool_id: uuid.UUID, data: ToolUpdate) -> Tool:
    tool = await get_tool(ctx, tool_id)
    changes = non_null(Tool, data.model_dump(exclude_unset=True))
    if "input_schema" in changes:
        changes["input_schema"] = _schema_text(check_json_schema(changes["input_schema"]))
    if changes.get("name", tool.name) != tool.name:
        await _name_free(ctx, changes["name"])
    await _check_sub_assistant(
        ctx,
        changes.get("tool_type", tool.tool_type),
        changes.get("assistant_id", tool.assistant_id),
    )
    # A server name is checked against MCP_STDIO_SERVERS when it is written: a tool whose
    # server the operator removed can still be renamed, described or turned off.
    _check_config(
        ctx,
        changes.get("tool_type", tool.tool_type),
        changes.get("config", tool.config),
        known_only="config" in changes or "tool_type" in changes,
    )
    apply_update(tool, changes)
    await live_config.config_changed(ctx)
    return tool


async def delete_tool(ctx: UnitOfWork, tool_id: uuid.UUID, cascade: bool) -> None:
    """Under `cascade`, the links that give it to assistants go with it."""
    tool = await get_tool(ctx, tool_id)
    links = col(AssistantToolLink.tool_id) == tool_id
    refs = [
        Reference("assistant_tool_link", await count(ctx.session, links), "assistants using it")
    ]
    refuse_if_referenced(KIND, tool_id, refs, cascade)
    await ctx.session.execute(delete(AssistantToolLink).where(links))
    await ctx.session.delete(tool)
    await live_config.config_changed(ctx)


async def _check_sub_assistant(
    ctx: UnitOfWork, tool_type: ToolType, assistant_id: uuid.UUID | None
) -> None:
    """A sub_assistant tool names the assistant it hands queries to; it must exist."""
    if tool_type is ToolType.sub_assistant and assistant_id is None:
        reason = "a sub_assistant tool needs the assistant it calls"
        raise ValidationFailedError(f"assistant_id: {reason}", [FieldError("assistant_id", reason)])
    if assistant_id is not None:
        await get_or_404(ctx.session, Assistant, assistant_id, "assistant")


def _check_config(
    ctx: UnitOfWork, tool_type: ToolType, config: dict[str, object] | None, *, known_only: bool
) -> None:
    """An mcp tool's server must be reachable in principle (a stdio one named in
    MCP_STDIO_SERVERS when `known_only`): the 422 names the field."""
    known = ctx.settings.mcp_stdio_servers if known_only else None
    if tool_type is not ToolType.mcp:
        return
    if problem := mcp_config_error(config, known) or mcp_writing_error(config):
        raise invalid(*problem)


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    taken = await ctx.session.scalar(
        select(func.count()).select_from(Tool).where(col(Tool.name) == name)
    )
    if taken:
        raise name_taken(KIND, "name", name)


def _schema_text(schema: dict[str, object]) -> str:
    return json.dumps(schema, ensure_ascii=False)
