"""/api/users/{user_id}/facts: what a user told the assistant about themselves. Either token
(the assistant's `remember` tool and tg_bot's /memory write them; the admin sees them)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import any_token
from rest_service.app.domain import embeddings, profile_facts
from rest_service.app.models.embedding import FactEmbeddingBatch
from rest_service.app.models.profile_fact import ProfileFactCreate, ProfileFactPublic

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERRORS)


@router.get("/{user_id}/facts", response_model=list[ProfileFactPublic], dependencies=[any_token])
async def list_facts(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, page: PageDep, response: Response
) -> object:
    """Oldest first."""
    rows, total = await profile_facts.list_facts(ctx, user_id, page)
    set_total(response, total)
    return rows


@router.post(
    "/{user_id}/facts",
    response_model=ProfileFactPublic,
    status_code=201,
    responses={200: {"model": ProfileFactPublic, "description": "the user had this fact"}},
    dependencies=[any_token],
)
async def add_fact(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: ProfileFactCreate, response: Response
) -> object:
    """201 when stored, 200 with the stored fact when the user has it already (compared
    casefolded, whitespace collapsed); 409 when the user has PROFILE_FACTS_MAX facts."""
    fact, made = await profile_facts.add_fact(ctx, user_id, data)
    response.status_code = 201 if made else 200
    return fact


@router.put("/{user_id}/facts/embeddings", status_code=204, dependencies=[any_token])
async def store_fact_embeddings(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: FactEmbeddingBatch
) -> None:
    """Vectors of the user's facts by one embedding model, for recall by meaning; a fact
    that is not the user's (or gone) is skipped, a repeat replaces."""
    await embeddings.store_facts(ctx, user_id, data)


@router.put(
    "/{user_id}/facts/{fact_id}", response_model=ProfileFactPublic, dependencies=[any_token]
)
async def update_fact(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, fact_id: uuid.UUID, data: ProfileFactCreate
) -> object:
    """New words for a fact, in its place; 409 when the user has those words as another
    fact. Its vectors are dropped (they were of the old words)."""
    return await profile_facts.update_fact(ctx, user_id, fact_id, data)


@router.delete("/{user_id}/facts", status_code=204, dependencies=[any_token])
async def clear_facts(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> None:
    """Every fact of the user (`/memory clear`)."""
    await profile_facts.clear_facts(ctx, user_id)


@router.delete("/{user_id}/facts/{fact_id}", status_code=204, dependencies=[any_token])
async def delete_fact(ctx: UnitOfWorkDep, user_id: uuid.UUID, fact_id: uuid.UUID) -> None:
    await profile_facts.delete_fact(ctx, user_id, fact_id)
