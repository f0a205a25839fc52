""" "Revert to this version": put an assistant, tool, link, provider or model back as a
history entry recorded it, through the same service functions the API uses (so the checks
run, the version bumps, the revert is itself recorded and `config:updated` is published)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlmodel import SQLModel

from common.infrastructure.errors import ConflictError
from rest_service.app.domain import (
    assistants,
    experiments,
    history,
    links,
    llm_models,
    providers,
    tools,
)
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import (
    AssistantCreate,
    AssistantToolLinkCreate,
    AssistantUpdate,
    ToolCreate,
    ToolUpdate,
)
from rest_service.app.models.history import ConfigChange, RowState
from rest_service.app.models.llm import (
    LLMModelCreate,
    LLMModelUpdate,
    ProviderCreate,
    ProviderUpdate,
)

Restorer = Callable[[UnitOfWork, uuid.UUID, RowState, bool], Awaitable[None]]


async def revert_to(ctx: UnitOfWork, change_id: int) -> ConfigChange:
    """Restore the state a history entry recorded; answers the entry."""
    change = await history.get_change(ctx.session, change_id)
    if change.entity not in history.ENTITIES:  # e.g. a dead letter's replay: not config
        raise ConflictError(f"a {change.entity} entry records an action; it cannot be reverted")
    state = history.restorable_state(change)
    model = history.ENTITIES[change.entity]
    exists = await ctx.session.get(model, change.entity_id) is not None
    await _RESTORERS[change.entity](ctx, change.entity_id, state, exists)
    return change


def _fields(update_model: type[SQLModel], state: RowState) -> RowState:
    return {k: v for k, v in state.items() if k in update_model.model_fields}


async def _assistant(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    if exists:
        data = AssistantUpdate.model_validate(_fields(AssistantUpdate, state))
        await assistants.update_assistant(ctx, key, data)
    else:
        await assistants.create_assistant(ctx, AssistantCreate.model_validate(state))


async def _tool(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    if exists:
        await tools.update_tool(ctx, key, ToolUpdate.model_validate(_fields(ToolUpdate, state)))
    else:
        await tools.create_tool(ctx, ToolCreate.model_validate(state))


async def _link(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    if not exists:
        await links.create_link(ctx, AssistantToolLinkCreate.model_validate(state))
        return
    sub = state.get("sub_assistant_id")
    await links.update_link(
        ctx,
        key,
        is_active=bool(state.get("is_active", True)),
        sub_assistant_id=uuid.UUID(str(sub)) if sub else None,
    )


async def _provider(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    """The key is not in the history (it is a secret): a revert keeps the current one."""
    if exists:
        data = ProviderUpdate.model_validate(_fields(ProviderUpdate, state))
        await providers.update_provider(ctx, key, data)
    else:
        await providers.create_provider(ctx, ProviderCreate.model_validate(state))


async def _model(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    if exists:
        data = LLMModelUpdate.model_validate(_fields(LLMModelUpdate, state))
        await llm_models.update_model(ctx, key, data)
    else:
        await llm_models.create_model(ctx, LLMModelCreate.model_validate(state))


_RESTORERS: dict[str, Restorer] = {
    "assistant": _assistant,
    "tool": _tool,
    "link": _link,
    "provider": _provider,
    "model": _model,
    "experiment": experiments.restore,
}
