"""LLM providers: an OpenAI-compatible endpoint and its key, encrypted, shown masked."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import col

from common.infrastructure.crypto import mask_secret
from common.infrastructure.errors import FieldError, ValidationFailedError
from rest_service.app.domain import live_config, llm_models
from rest_service.app.domain.common import apply_update, get_or_404, name_taken, non_null, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.references import Reference, refuse_if_referenced
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.llm import (
    LLMModel,
    LLMProvider,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
)

KIND = "provider"


def public(provider: LLMProvider) -> ProviderPublic:
    return ProviderPublic.model_validate(
        {**provider.model_dump(), "has_api_key": provider.api_key_encrypted is not None}
    )


def set_api_key(ctx: UnitOfWork, provider: LLMProvider, api_key: str | None) -> None:
    provider.api_key_encrypted = ctx.box.encrypt(api_key) if api_key else None
    provider.api_key_masked = mask_secret(api_key)


class KeyRequiredError(ValidationFailedError):
    """A new base_url for a provider with a stored key: the key must come with it, or the
    stored key (and every conversation) would be sent wherever the URL points."""


def require_key_for_new_url(
    provider: LLMProvider, base_url: str | None, key_given: bool, field: str = "api_key"
) -> None:
    if base_url is None or base_url == provider.base_url or key_given:
        return
    if provider.api_key_encrypted is None:
        return
    reason = "required when base_url changes (the stored key is not sent to a new URL)"
    raise KeyRequiredError(f"{field} {reason}", [FieldError(field, reason)])


async def list_providers(ctx: UnitOfWork, page: Page) -> tuple[list[ProviderPublic], int]:
    rows, total = await paged(ctx.session, select(LLMProvider).order_by(LLMProvider.name), page)
    return [public(p) for p in rows], total


async def get_provider(ctx: UnitOfWork, provider_id: uuid.UUID) -> LLMProvider:
    return await get_or_404(ctx.session, LLMProvider, provider_id, KIND)


async def create_provider(ctx: UnitOfWork, data: ProviderCreate) -> LLMProvider:
    await _name_free(ctx, data.name)
    provider = LLMProvider.model_validate(data.model_dump(exclude={"api_key"}))
    set_api_key(ctx, provider, data.api_key)
    ctx.session.add(provider)
    await live_config.config_changed(ctx)
    return provider


async def update_provider(
    ctx: UnitOfWork, provider_id: uuid.UUID, data: ProviderUpdate
) -> LLMProvider:
    provider = await get_provider(ctx, provider_id)
    changes = data.model_dump(exclude_unset=True)
    require_key_for_new_url(provider, changes.get("base_url"), "api_key" in changes)
    if "name" in changes and changes["name"] != provider.name:
        await _name_free(ctx, changes["name"])
    if "api_key" in changes:
        set_api_key(ctx, provider, changes.pop("api_key"))
    apply_update(provider, non_null(LLMProvider, changes))
    await live_config.config_changed(ctx)
    return provider


async def delete_provider(ctx: UnitOfWork, provider_id: uuid.UUID, cascade: bool) -> None:
    """Its models go with it under `cascade` (and then whatever refers to them)."""
    provider = await get_provider(ctx, provider_id)
    model_ids = (
        await ctx.session.scalars(
            select(col(LLMModel.id)).where(col(LLMModel.provider_id) == provider_id)
        )
    ).all()
    refs = [Reference("llm_models", len(model_ids), "models of this provider")]
    refuse_if_referenced(KIND, provider_id, refs, cascade)
    for model_id in model_ids:
        await llm_models.delete_rows(ctx, model_id)
    await ctx.session.delete(provider)
    await live_config.config_changed(ctx)


async def decrypted_key(ctx: UnitOfWork, provider_id: uuid.UUID) -> str | None:
    provider = await get_provider(ctx, provider_id)
    if provider.api_key_encrypted is None:
        return None
    return ctx.box.decrypt(provider.api_key_encrypted)


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    taken = await ctx.session.scalar(
        select(func.count()).select_from(LLMProvider).where(col(LLMProvider.name) == name)
    )
    if taken:
        raise name_taken(KIND, "name", name)
