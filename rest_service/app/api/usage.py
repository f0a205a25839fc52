"""/api/users/{user_id}/usage: one user's own figures, for `/usage`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import UnitOfWorkDep
from rest_service.app.auth import any_token
from rest_service.app.domain import usage
from rest_service.app.models.base import AwareDatetime
from rest_service.app.models.usage import UserUsage

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERRORS)


@router.get("/{user_id}/usage", response_model=UserUsage, dependencies=[any_token])
async def get_usage(ctx: UnitOfWorkDep, user_id: uuid.UUID, since: AwareDatetime) -> object:
    """Messages the user wrote since `since` (an offset is required: the caller says whose
    midnight), tokens of the answers they got, tool calls made for them."""
    return await usage.user_usage(ctx, user_id, since)
