"""/api/pairings: strangers asking to use a private bot (PAIRING in tg_bot). tg_bot asks for a
person's pairing (made pending with a code if missing); the admin lists them and approves or
refuses one. The service token may approve and refuse too: tg_bot does it for an owner's
button, and only an owner's press gets there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from common.features.pairing import CODE_PATTERN
from common.infrastructure.wire import PairingStatus
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import pairings
from rest_service.app.models.pairing import PairingCreate, PairingDecisionIn, PairingPublic

router = APIRouter(prefix="/api/pairings", tags=["pairings"], responses=ERRORS)

Code = Annotated[str, Path(pattern=CODE_PATTERN, description="the code the stranger was given")]


@router.get("", response_model=list[PairingPublic], dependencies=[admin_only])
async def list_pairings(
    ctx: UnitOfWorkDep, page: PageDep, response: Response, status: PairingStatus | None = None
) -> object:
    """Newest first."""
    rows, total = await pairings.list_pairings(ctx, page, status)
    set_total(response, total)
    return rows


@router.post("", response_model=PairingPublic, dependencies=[any_token])
async def request_pairing(ctx: UnitOfWorkDep, data: PairingCreate, response: Response) -> object:
    """The person's pairing: 201 with a new pending code, 200 with the one they have."""
    pairing, created = await pairings.request(ctx, data)
    response.status_code = 201 if created else 200
    return pairing


@router.post("/{code}/approve", response_model=PairingPublic, dependencies=[any_token])
async def approve(ctx: UnitOfWorkDep, code: Code, data: PairingDecisionIn | None = None) -> object:
    """From now on the person may use the bot; 404 for an unknown code."""
    return await pairings.decide(ctx, code, PairingStatus.approved, data.by if data else None)


@router.post("/{code}/refuse", response_model=PairingPublic, dependencies=[any_token])
async def refuse(ctx: UnitOfWorkDep, code: Code, data: PairingDecisionIn | None = None) -> object:
    """The person is told once that they are not approved; 404 for an unknown code."""
    return await pairings.decide(ctx, code, PairingStatus.refused, data.by if data else None)
