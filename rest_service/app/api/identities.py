"""/api/users identities: one person across channels (decision 0054). The bots and the
channels service act for their senders, so the writes take a service token whose scope has
the `identities` right; reading a user's identities is any token's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic_core import to_json

from common.features.linking import EXTERNAL_ID_MAX
from common.infrastructure.channels import Channel
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import UnitOfWorkDep
from rest_service.app.auth import any_token, identities_only
from rest_service.app.domain import identities
from rest_service.app.models.identity import (
    IdentityCreate,
    IdentityPublic,
    IdentityRef,
    LinkCodePublic,
    LinkRequest,
    LinkResult,
)
from rest_service.app.models.user import UserPublic

router = APIRouter(prefix="/api/users", tags=["identities"], responses=ERRORS)

ExternalId = Annotated[str, Path(min_length=1, max_length=EXTERNAL_ID_MAX)]


@router.post(
    "/by-identity",
    response_model=UserPublic,
    status_code=201,
    responses={200: {"model": UserPublic, "description": "the user existed"}},
    dependencies=[identities_only],
)
async def get_or_create_by_identity(ctx: UnitOfWorkDep, data: IdentityCreate) -> object:
    """Get-or-create by (`channel`, `external_id`): 201 when made, 200 otherwise; concurrent
    calls make one user. `telegram` resolves through `telegram_id`, as `POST /api/users/`."""
    user, made = await identities.get_or_create_by_identity(ctx, data)
    return Response(to_json(user), status_code=201 if made else 200, media_type="application/json")


@router.get("/{user_id}/identities", response_model=list[IdentityPublic], dependencies=[any_token])
async def list_identities(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    """Telegram first (`users.telegram_id`), then the others, oldest first."""
    return await identities.list_identities(ctx, user_id)


@router.post(
    "/{user_id}/link-codes",
    response_model=LinkCodePublic,
    status_code=201,
    dependencies=[identities_only],
)
async def issue_link_code(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    """A one-time code (`ABCD-EFGH`) that links another account to this user within 10
    minutes; the user's older codes stop working."""
    return await identities.issue_code(ctx, user_id)


@router.post("/link", response_model=LinkResult, dependencies=[identities_only])
async def link_identity(ctx: UnitOfWorkDep, data: LinkRequest) -> object:
    """The identity that sent `code` joins the code's issuer, with everything its user had;
    404 for a code unknown, used or expired; 409 for a second Telegram account."""
    return await identities.link(ctx, data)


@router.delete(
    "/{user_id}/identities/{channel}/{external_id:path}",
    response_model=UserPublic,
    dependencies=[identities_only],
)
async def unlink_identity(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, channel: Channel, external_id: ExternalId
) -> object:
    """The identity becomes a user of its own (answered); 409 for the user's last one."""
    ref = IdentityRef.model_validate({"channel": channel, "external_id": external_id})
    return await identities.unlink(ctx, user_id, ref)
