"""/api/llm-providers and /api/llm-models: where completions go, and which models exist."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from common.infrastructure.wire import ModelCapability
from rest_service.app.api.common import ERRORS, Cascade
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token, provider_keys_only
from rest_service.app.domain import llm_models, providers
from rest_service.app.models.llm import (
    LLMModelCreate,
    LLMModelPublic,
    LLMModelUpdate,
    ProviderApiKey,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
)

router = APIRouter(tags=["llm"], responses=ERRORS)


@router.get("/api/llm-providers/", response_model=list[ProviderPublic], dependencies=[admin_only])
async def list_providers(ctx: UnitOfWorkDep, page: PageDep, response: Response) -> object:
    rows, total = await providers.list_providers(ctx, page)
    set_total(response, total)
    return rows


@router.post(
    "/api/llm-providers/", response_model=ProviderPublic, status_code=201, dependencies=[admin_only]
)
async def create_provider(ctx: UnitOfWorkDep, data: ProviderCreate) -> object:
    """`api_key` is write-only: stored encrypted, shown as `api_key_masked`."""
    return providers.public(await providers.create_provider(ctx, data))


@router.get(
    "/api/llm-providers/{provider_id}", response_model=ProviderPublic, dependencies=[admin_only]
)
async def get_provider(ctx: UnitOfWorkDep, provider_id: uuid.UUID) -> object:
    return providers.public(await providers.get_provider(ctx, provider_id))


@router.put(
    "/api/llm-providers/{provider_id}", response_model=ProviderPublic, dependencies=[admin_only]
)
async def update_provider(
    ctx: UnitOfWorkDep, provider_id: uuid.UUID, data: ProviderUpdate
) -> object:
    """`api_key`: a new key replaces the old one; null removes it; left out keeps it."""
    return providers.public(await providers.update_provider(ctx, provider_id, data))


@router.delete("/api/llm-providers/{provider_id}", status_code=204, dependencies=[admin_only])
async def delete_provider(
    ctx: UnitOfWorkDep, provider_id: uuid.UUID, cascade: Cascade = False
) -> None:
    """409 while it has models, unless `cascade` (which deletes them too)."""
    await providers.delete_provider(ctx, provider_id, cascade)


@router.get(
    "/api/llm-providers/{provider_id}/api-key",
    response_model=ProviderApiKey,
    dependencies=[provider_keys_only],
)
async def get_provider_api_key(ctx: UnitOfWorkDep, provider_id: uuid.UUID) -> object:
    """The decrypted key, for the assistant: the service token only (admin gets a 403)."""
    return ProviderApiKey(api_key=await providers.decrypted_key(ctx, provider_id))


@router.get("/api/llm-models/", response_model=list[LLMModelPublic], dependencies=[any_token])
async def list_models(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    active: bool | None = None,
    capability: ModelCapability | None = None,
) -> object:
    """Default first. `active=true`: active models of active providers; `capability=chat`:
    only the models that can do it (what /model lists)."""
    rows, total = await llm_models.list_models(ctx, page, active, capability)
    set_total(response, total)
    return rows


@router.post(
    "/api/llm-models/", response_model=LLMModelPublic, status_code=201, dependencies=[admin_only]
)
async def create_model(ctx: UnitOfWorkDep, data: LLMModelCreate) -> object:
    """`is_default`/`is_fallback` move the flag from the model that had it. `capabilities`
    (default `["chat"]`): the transcription, speech, image and embedding models are the active
    ones with that capability; the default and fallback models must have `chat`."""
    return await llm_models.create_model(ctx, data)


@router.get("/api/llm-models/{model_id}", response_model=LLMModelPublic, dependencies=[any_token])
async def get_model(ctx: UnitOfWorkDep, model_id: uuid.UUID) -> object:
    return await llm_models.get_model(ctx, model_id)


@router.put("/api/llm-models/{model_id}", response_model=LLMModelPublic, dependencies=[admin_only])
async def update_model(ctx: UnitOfWorkDep, model_id: uuid.UUID, data: LLMModelUpdate) -> object:
    """A rename follows into the assistants and users that chose the model; `capabilities`
    replaces the whole list."""
    return await llm_models.update_model(ctx, model_id, data)


@router.delete("/api/llm-models/{model_id}", status_code=204, dependencies=[admin_only])
async def delete_model(ctx: UnitOfWorkDep, model_id: uuid.UUID, cascade: Cascade = False) -> None:
    """409 while assistants or users chose it, unless `cascade` (they fall back to default)."""
    await llm_models.delete_model(ctx, model_id, cascade)
