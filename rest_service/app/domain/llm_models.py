"""LLM models: one default, at most one fallback; names the assistants and users refer to."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select, update
from sqlmodel import col

from common.infrastructure.errors import ConflictError, FieldError, ValidationFailedError, not_found
from common.infrastructure.queue_messages import UserChanged
from common.infrastructure.wire import ModelCapability
from rest_service.app.domain import live_config
from rest_service.app.domain.common import (
    apply_update,
    get_or_404,
    name_taken,
    non_null,
    paged_rows,
)
from rest_service.app.domain.model_views import model_public, models_query, one_public
from rest_service.app.domain.paging import Page
from rest_service.app.domain.references import Reference, refuse_if_referenced
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.user_changes import announce_user
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.llm import (
    LLMModel,
    LLMModelCreate,
    LLMModelPublic,
    LLMModelUpdate,
    LLMProvider,
)
from rest_service.app.models.user import User

KIND = "model"


async def list_models(
    ctx: UnitOfWork, page: Page, active: bool | None, capability: ModelCapability | None = None
) -> tuple[list[LLMModelPublic], int]:
    stmt = models_query(active_only=bool(active))
    if active is False:
        stmt = stmt.where(~col(LLMModel.is_active))
    if capability is not None:
        stmt = stmt.where(col(LLMModel.capabilities).contains([capability.value]))
    rows, total = await paged_rows(ctx.session, stmt, page)
    return [model_public(m, p) for m, p in rows], total


async def get_model(ctx: UnitOfWork, model_id: uuid.UUID) -> LLMModelPublic:
    found = await one_public(ctx.session, model_id)
    if found is None:
        raise not_found(KIND, model_id)
    return found


async def create_model(ctx: UnitOfWork, data: LLMModelCreate) -> LLMModelPublic:
    await _provider_exists(ctx, data.provider_id)
    await _name_free(ctx, data.provider_model_name)
    model = LLMModel.model_validate(data)
    check_flags_chat(model)
    await _make_unique_flags(ctx, model)
    ctx.session.add(model)
    await live_config.config_changed(ctx)
    return await get_model(ctx, model.id)


async def update_model(
    ctx: UnitOfWork, model_id: uuid.UUID, data: LLMModelUpdate
) -> LLMModelPublic:
    changes = non_null(LLMModel, data.model_dump(exclude_unset=True))
    stops_chatting = ModelCapability.chat not in changes.get("capabilities", [ModelCapability.chat])
    if "provider_model_name" in changes or stops_chatting:  # held as a delete holds it
        model = await _locked(ctx, model_id)
    else:
        model = await get_or_404(ctx.session, LLMModel, model_id, KIND)
    if stops_chatting:
        await _refuse_if_chosen(ctx, model)
    if "provider_id" in changes:
        await _provider_exists(ctx, changes["provider_id"])
    old_name = model.provider_model_name
    if changes.get("provider_model_name", old_name) != old_name:
        await _name_free(ctx, changes["provider_model_name"])
        await _rename_references(ctx, old_name, changes["provider_model_name"])
    apply_update(model, changes)
    check_flags_chat(model)
    await _make_unique_flags(ctx, model)
    await live_config.config_changed(ctx)
    return await get_model(ctx, model.id)


async def delete_model(ctx: UnitOfWork, model_id: uuid.UUID, cascade: bool) -> None:
    """Under `cascade`, assistants and users that chose it fall back to the default model."""
    await delete_rows(ctx, model_id, cascade=cascade)
    await live_config.config_changed(ctx)


async def delete_rows(ctx: UnitOfWork, model_id: uuid.UUID, cascade: bool = True) -> None:
    model = await _locked(ctx, model_id)
    name = model.provider_model_name
    assistants = await _count(ctx, select(col(Assistant.id)).where(col(Assistant.model) == name))
    users = await _count(ctx, select(col(User.id)).where(col(User.preferred_model) == name))
    refs = [
        Reference("assistants", assistants, "assistants using it"),
        Reference("users", users, "users who chose it"),
    ]
    refuse_if_referenced(KIND, model_id, refs, cascade)
    await _rename_references(ctx, name, None)
    await ctx.session.delete(model)


async def _refuse_if_chosen(ctx: UnitOfWork, model: LLMModel) -> None:
    """A model an assistant or a user chose must keep `chat`: they would get no answers."""
    name = model.provider_model_name
    assistants = await _count(ctx, select(col(Assistant.id)).where(col(Assistant.model) == name))
    users = await _count(ctx, select(col(User.id)).where(col(User.preferred_model) == name))
    chosen = [f"{n} {what}" for n, what in ((assistants, "assistants"), (users, "users")) if n]
    if chosen:
        reason = f"{' and '.join(chosen)} chose {name!r} to chat with; give them another first"
        raise ConflictError(f"capabilities: {reason}", [FieldError("capabilities", reason)])


async def model_exists(ctx: UnitOfWork, name: str) -> bool:
    found = await ctx.session.scalar(
        select(func.count()).select_from(LLMModel).where(col(LLMModel.provider_model_name) == name)
    )
    return bool(found)


async def require_model(ctx: UnitOfWork, name: str | None, field: str) -> None:
    """A model named by an assistant or a user must be one of `llm_models`, and stays so
    until this transaction ends: the names are plain strings, so the row is locked here as
    a foreign key would lock it (FOR KEY SHARE); a delete or rename (FOR UPDATE) waits, or,
    had it locked first, this request finds the row gone and is refused with 409."""
    if name is None:
        return
    if not await model_exists(ctx, name):
        reason = f"no model named {name!r} (see GET /api/llm-models/)"
        raise ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])
    held = await ctx.session.scalar(
        select(col(LLMModel.capabilities))
        .where(col(LLMModel.provider_model_name) == name)
        .with_for_update(key_share=True)
    )
    if held is None:
        reason = f"model {name!r} was deleted or renamed while this request ran"
        raise ConflictError(f"{field}: {reason}", [FieldError(field, reason)])
    if ModelCapability.chat not in held:
        reason = f"model {name!r} cannot chat (its capabilities: {', '.join(held)})"
        raise ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


def check_flags_chat(model: LLMModel, field: str = "capabilities") -> None:
    """The default and the fallback model answer conversations, so they must chat."""
    if ModelCapability.chat in model.capabilities:
        return
    for flag in ("is_default", "is_fallback"):
        if getattr(model, flag):
            reason = f"the {flag.removeprefix('is_')} model must have the 'chat' capability"
            raise ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


async def _make_unique_flags(ctx: UnitOfWork, model: LLMModel) -> None:
    """Setting a model default (or fallback) takes the flag from the one that had it."""
    flags = (
        (model.is_default, col(LLMModel.is_default)),
        (model.is_fallback, col(LLMModel.is_fallback)),
    )
    for is_set, column in flags:
        if is_set:
            await ctx.session.execute(
                update(LLMModel).where(column, col(LLMModel.id) != model.id).values({column: False})
            )


async def _rename_references(ctx: UnitOfWork, old: str, new: str | None) -> None:
    await ctx.session.execute(
        update(Assistant).where(col(Assistant.model) == old).values(model=new)
    )
    renamed = await ctx.session.execute(
        update(User)
        .where(col(User.preferred_model) == old)
        .values(preferred_model=new)
        .returning(col(User.id), col(User.telegram_id))
    )
    for user_id, telegram_id in renamed.all():
        announce_user(ctx, UserChanged(user_id=user_id, telegram_id=telegram_id, change="updated"))


async def _locked(ctx: UnitOfWork, model_id: uuid.UUID) -> LLMModel:
    """The model row under FOR UPDATE: references made meanwhile wait (see `require_model`),
    so the counts and renames that follow see every one committed before."""
    model = await ctx.session.get(LLMModel, model_id, with_for_update=True, populate_existing=True)
    if model is None:
        raise not_found(KIND, model_id)
    return model


async def _provider_exists(ctx: UnitOfWork, provider_id: uuid.UUID) -> None:
    await get_or_404(ctx.session, LLMProvider, provider_id, "provider")


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    if await model_exists(ctx, name):
        raise name_taken("model", "provider_model_name", name)


async def _count(ctx: UnitOfWork, stmt: Select[uuid.UUID]) -> int:
    return int(await ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
