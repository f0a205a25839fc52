"""LLM models as the API and the snapshot show them: with their provider, never a key."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.infrastructure.wire import ProviderRef
from rest_service.app.models.llm import LLMModel, LLMModelPublic, LLMProvider


def models_query(active_only: bool) -> Select[LLMModel, LLMProvider]:
    stmt = (
        select(LLMModel, LLMProvider)
        .join(LLMProvider, col(LLMProvider.id) == col(LLMModel.provider_id))
        .order_by(col(LLMModel.is_default).desc(), col(LLMModel.provider_model_name))
    )
    if active_only:
        stmt = stmt.where(col(LLMModel.is_active), col(LLMProvider.is_active))
    return stmt


def model_public(model: LLMModel, provider: LLMProvider) -> LLMModelPublic:
    return LLMModelPublic.model_validate(
        {
            **model.model_dump(),
            "name": model.provider_model_name,
            "provider": ProviderRef(id=provider.id, name=provider.name, base_url=provider.base_url),
        }
    )


async def public_models(session: AsyncSession, active_only: bool) -> list[LLMModelPublic]:
    rows = (await session.execute(models_query(active_only))).all()
    return [model_public(model, provider) for model, provider in rows]


async def one_public(session: AsyncSession, model_id: uuid.UUID) -> LLMModelPublic | None:
    row = (
        await session.execute(models_query(active_only=False).where(col(LLMModel.id) == model_id))
    ).first()
    if row is None:
        return None
    model, provider = row
    return model_public(model, provider)
