"""Config import and export: assistants, tools, links, providers (no keys) and models as one
JSON document, matched by name, so importing the same document twice changes nothing.
The seed configuration goes through `import_config` too."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from common.infrastructure.errors import FieldError, ValidationFailedError
from common.infrastructure.wire import (
    ModelCapability,
    ToolType,
    mcp_config_error,
    mcp_writing_error,
)
from rest_service.app.domain import live_config
from rest_service.app.domain.common import flush_or_conflict
from rest_service.app.domain.llm_models import check_flags_chat
from rest_service.app.domain.providers import require_key_for_new_url, set_api_key
from rest_service.app.domain.snapshot import parse_schema
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.validation import check_json_schema
from rest_service.app.domain.version import current_version
from rest_service.app.models.assistant import Assistant, AssistantToolLink, Tool
from rest_service.app.models.llm import LLMModel, LLMProvider
from rest_service.app.models.snapshot import (
    AssistantDoc,
    ConfigDocument,
    ImportCounts,
    ImportResult,
    LinkDoc,
    ModelDoc,
    ProviderDoc,
    ToolDoc,
)
from rest_service.app.models.user import User


@dataclass
class _Known:
    """Every config row by name, loaded once: an import of thousands of items stays a
    handful of queries."""

    providers: dict[str, LLMProvider]
    models: dict[str, LLMModel]
    assistants: dict[str, Assistant]
    tools: dict[str, Tool]
    links: dict[tuple[uuid.UUID, uuid.UUID], AssistantToolLink]

    @classmethod
    async def load(cls, ctx: UnitOfWork) -> _Known:
        session = ctx.session
        links = (await session.scalars(select(AssistantToolLink))).all()
        return cls(
            providers={p.name: p for p in (await session.scalars(select(LLMProvider))).all()},
            models={
                m.provider_model_name: m for m in (await session.scalars(select(LLMModel))).all()
            },
            assistants={a.name: a for a in (await session.scalars(select(Assistant))).all()},
            tools={t.name: t for t in (await session.scalars(select(Tool))).all()},
            links={(link.assistant_id, link.tool_id): link for link in links},
        )


_SECTIONS = ("providers", "models", "assistants", "tools", "links")


async def import_config(ctx: UnitOfWork, doc: ConfigDocument) -> ImportResult:
    """One transaction and one version bump (none when nothing differs); a bad item is a
    422 naming it (`tools[2].input_schema`)."""
    known = await _Known.load(ctx)
    counts = {name: ImportCounts() for name in _SECTIONS}
    for i, item in enumerate(doc.providers):
        _import_provider(ctx, known, i, item, counts["providers"])
    await flush_or_conflict(ctx.session)  # rows before the rows that refer to them
    await _roles_given_up(ctx, known, doc)
    for i, model in enumerate(doc.models):
        _import_model(ctx, known, i, model, counts["models"])
    for i, assistant in enumerate(doc.assistants):
        _import_assistant(ctx, known, i, assistant, counts["assistants"])
    await _chat_models_chosen(ctx, known, doc)
    await flush_or_conflict(ctx.session)
    for i, tool in enumerate(doc.tools):
        _import_tool(ctx, known, i, tool, counts["tools"])
    await flush_or_conflict(ctx.session)
    for i, link in enumerate(doc.links):
        _import_link(ctx, known, i, link, counts["links"])
    if any(c.created or c.updated for c in counts.values()):
        version = await live_config.config_changed(ctx)
    else:
        version = await current_version(ctx.session)
    return ImportResult(version=version, **counts)


async def export_config(ctx: UnitOfWork) -> ConfigDocument:
    session = ctx.session
    providers = (await session.scalars(select(LLMProvider).order_by(LLMProvider.name))).all()
    provider_names = {p.id: p.name for p in providers}
    models = (await session.scalars(select(LLMModel).order_by(LLMModel.provider_model_name))).all()
    assistants = (await session.scalars(select(Assistant).order_by(Assistant.name))).all()
    assistant_names = {a.id: a.name for a in assistants}
    tools = (await session.scalars(select(Tool).order_by(Tool.name))).all()
    tool_names = {t.id: t.name for t in tools}
    links = (await session.scalars(select(AssistantToolLink))).all()
    return ConfigDocument(
        providers=[ProviderDoc.model_validate(p.model_dump()) for p in providers],
        models=[
            ModelDoc.model_validate({**m.model_dump(), "provider": provider_names[m.provider_id]})
            for m in models
        ],
        assistants=[AssistantDoc.model_validate(a.model_dump()) for a in assistants],
        tools=[
            ToolDoc.model_validate(
                {
                    **t.model_dump(),
                    "input_schema": parse_schema(t.input_schema),
                    "sub_assistant": assistant_names.get(t.assistant_id)
                    if t.assistant_id
                    else None,
                }
            )
            for t in tools
        ],
        links=sorted(
            (
                LinkDoc(
                    assistant=assistant_names[link.assistant_id],
                    tool=tool_names[link.tool_id],
                    sub_assistant=(
                        assistant_names.get(link.sub_assistant_id)
                        if link.sub_assistant_id
                        else None
                    ),
                    is_active=link.is_active,
                )
                for link in links
            ),
            key=lambda d: (d.assistant, d.tool),
        ),
    )


def _import_provider(
    ctx: UnitOfWork, known: _Known, i: int, item: ProviderDoc, counts: ImportCounts
) -> None:
    existing, counted = known.providers.get(item.name), counts.updated
    if existing is not None:
        field = f"providers[{i}].api_key"
        require_key_for_new_url(existing, item.base_url, bool(item.api_key), field)
    values = item.model_dump(exclude={"api_key"})
    row = _upsert(ctx, existing, LLMProvider, values, counts)
    known.providers[item.name] = row
    if item.api_key and _key_of(ctx, row) != item.api_key:
        set_api_key(ctx, row, item.api_key)
        counts.updated += existing is not None and counts.updated == counted


def _import_model(
    ctx: UnitOfWork, known: _Known, i: int, item: ModelDoc, counts: ImportCounts
) -> None:
    provider = known.providers.get(item.provider)
    if provider is None:
        _refuse(f"models[{i}].provider", f"no provider named {item.provider!r}")
    values = {**item.model_dump(exclude={"provider"}), "provider_id": provider.id}
    if item.capabilities is None:
        values.pop("capabilities")
    row = _upsert(ctx, known.models.get(item.provider_model_name), LLMModel, values, counts)
    check_flags_chat(row, f"models[{i}].capabilities")
    known.models[item.provider_model_name] = row
    for flag in ("is_default", "is_fallback"):
        if getattr(row, flag):
            _take_flag(known.models.values(), row, flag)


async def _chat_models_chosen(ctx: UnitOfWork, known: _Known, doc: ConfigDocument) -> None:
    """What the API refuses one row at a time: an assistant's model must chat, and a model
    that stops chatting must not be anyone's choice."""
    for i, assistant in enumerate(doc.assistants):
        model = known.models.get(assistant.model) if assistant.model else None
        if model is not None and ModelCapability.chat not in model.capabilities:
            _refuse(f"assistants[{i}].model", f"model {assistant.model!r} cannot chat")
    for i, item in enumerate(doc.models):
        if ModelCapability.chat in known.models[item.provider_model_name].capabilities:
            continue
        name = item.provider_model_name
        users = await ctx.session.scalar(
            select(func.count()).select_from(User).where(col(User.preferred_model) == name)
        )
        chosen = users or any(a.model == name for a in known.assistants.values())
        if chosen:
            _refuse(f"models[{i}].capabilities", f"{name!r} is chosen to chat with; keep 'chat'")


def _import_assistant(
    ctx: UnitOfWork, known: _Known, i: int, item: AssistantDoc, counts: ImportCounts
) -> None:
    if item.model is not None and item.model not in known.models:
        _refuse(f"assistants[{i}].model", f"no model named {item.model!r}")
    row = _upsert(ctx, known.assistants.get(item.name), Assistant, item.model_dump(), counts)
    known.assistants[item.name] = row
    if row.is_secretary:
        _take_flag(known.assistants.values(), row, "is_secretary")


def _import_tool(
    ctx: UnitOfWork, known: _Known, i: int, item: ToolDoc, counts: ImportCounts
) -> None:
    schema = check_json_schema(item.input_schema, field=f"tools[{i}].input_schema")
    sub_assistant_id = None
    if item.sub_assistant is not None:
        sub = known.assistants.get(item.sub_assistant)
        if sub is None:
            _refuse(f"tools[{i}].sub_assistant", f"no assistant named {item.sub_assistant!r}")
        sub_assistant_id = sub.id
    elif item.tool_type is ToolType.sub_assistant:
        _refuse(f"tools[{i}].sub_assistant", "a sub_assistant tool needs the assistant it calls")
    servers = ctx.settings.mcp_stdio_servers
    if item.tool_type is ToolType.mcp and (
        problem := mcp_config_error(item.config, servers) or mcp_writing_error(item.config)
    ):
        _refuse(f"tools[{i}].{problem[0]}", problem[1])
    values = {
        **item.model_dump(exclude={"sub_assistant"}),
        "input_schema": json.dumps(schema, ensure_ascii=False),
        "assistant_id": sub_assistant_id,
    }
    if item.name in known.tools and parse_schema(known.tools[item.name].input_schema) == schema:
        values["input_schema"] = known.tools[item.name].input_schema
    known.tools[item.name] = _upsert(ctx, known.tools.get(item.name), Tool, values, counts)


def _import_link(
    ctx: UnitOfWork, known: _Known, i: int, item: LinkDoc, counts: ImportCounts
) -> None:
    assistant = known.assistants.get(item.assistant)
    if assistant is None:
        _refuse(f"links[{i}].assistant", f"no assistant named {item.assistant!r}")
    tool = known.tools.get(item.tool)
    if tool is None:
        _refuse(f"links[{i}].tool", f"no tool named {item.tool!r}")
    sub_id = None
    if item.sub_assistant is not None:
        sub = known.assistants.get(item.sub_assistant)
        if sub is None:
            _refuse(f"links[{i}].sub_assistant", f"no assistant named {item.sub_assistant!r}")
        sub_id = sub.id
    values = {
        "assistant_id": assistant.id,
        "tool_id": tool.id,
        "sub_assistant_id": sub_id,
        "is_active": item.is_active,
    }
    pair = (assistant.id, tool.id)
    known.links[pair] = _upsert(ctx, known.links.get(pair), AssistantToolLink, values, counts)


async def _roles_given_up(ctx: UnitOfWork, known: _Known, doc: ConfigDocument) -> None:
    """Who holds a role the document gives another row gives it up first, in a flush of its
    own: the one-holder indexes are checked at every statement, and one flush updates a
    table's rows in key order, not in the order they were changed."""
    roles: list[tuple[dict[str, Any], str, str | None]] = [
        (known.models, "is_default", _last(doc.models, "is_default", "provider_model_name")),
        (known.models, "is_fallback", _last(doc.models, "is_fallback", "provider_model_name")),
        (known.assistants, "is_secretary", _last(doc.assistants, "is_secretary", "name")),
    ]
    for rows, flag, taker in roles:
        if taker is not None:
            _take_flag(rows.values(), rows.get(taker), flag)
    await flush_or_conflict(ctx.session)


def _last(items: Iterable[Any], flag: str, key: str) -> str | None:
    """The item that ends up with `flag`: the last that claims it, as the import goes."""
    names = [getattr(item, key) for item in items if getattr(item, flag)]
    return names[-1] if names else None


def _take_flag(rows: Iterable[Any], holder: Any, flag: str) -> None:
    """One default model, one fallback, one secretary: the imported one takes the flag."""
    for row in rows:
        if row is not holder and getattr(row, flag):
            setattr(row, flag, False)


def _key_of(ctx: UnitOfWork, provider: LLMProvider) -> str | None:
    return ctx.box.decrypt(provider.api_key_encrypted) if provider.api_key_encrypted else None


def _upsert(
    ctx: UnitOfWork, row: Any, model: type[SQLModel], values: dict[str, Any], counts: ImportCounts
) -> Any:
    if row is None:
        row = model.model_validate(values)
        ctx.session.add(row)
        counts.created += 1
        return row
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for name, value in changed.items():
        setattr(row, name, value)
    counts.updated += bool(changed)
    return row


def _refuse(field: str, reason: str) -> NoReturn:
    raise ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])
