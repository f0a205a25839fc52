"""/api/leads: conversations that showed interest. The admin lists, filters, edits
(status, owner, notes), deletes and exports them; a service only records interest for the
user and business it names (the `lead` tool)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import leads, leads_export
from rest_service.app.domain.leads import LeadFilter
from rest_service.app.domain.leads_export import Format
from rest_service.app.models.base import AwareDatetime
from rest_service.app.models.leads import InterestIn, LeadPublic, LeadStatus, LeadUpdate

router = APIRouter(prefix="/api/leads", tags=["leads"], responses=ERRORS)


def lead_filter(
    status: LeadStatus | None = None,
    assistant_id: uuid.UUID | None = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    created_from: Annotated[
        AwareDatetime | None, Query(description="made at or after this time")
    ] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="made before this time")] = None,
    user_id: uuid.UUID | None = None,
) -> LeadFilter:
    return LeadFilter(status, assistant_id, owner, created_from, created_to, user_id)


@router.get("/", response_model=list[LeadPublic], dependencies=[admin_only])
async def list_leads(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    status: LeadStatus | None = None,
    assistant_id: uuid.UUID | None = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    created_from: Annotated[AwareDatetime | None, Query(description="made at or after")] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="made before")] = None,
    user_id: uuid.UUID | None = None,
) -> object:
    """Newest first."""
    where = lead_filter(status, assistant_id, owner, created_from, created_to, user_id)
    rows, total = await leads.list_leads(ctx, page, where)
    set_total(response, total)
    return rows


@router.get("/export", dependencies=[admin_only], response_class=Response)
async def export_leads(
    ctx: UnitOfWorkDep,
    format: Format = "csv",
    status: LeadStatus | None = None,
    assistant_id: uuid.UUID | None = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    created_from: Annotated[AwareDatetime | None, Query(description="made at or after")] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="made before")] = None,
    user_id: uuid.UUID | None = None,
) -> Response:
    """The leads the list's filters select, as CSV or XLSX, with each customer's contact."""
    where = lead_filter(status, assistant_id, owner, created_from, created_to, user_id)
    body = leads_export.render(await leads_export.export_rows(ctx, where), format)
    disposition = f'attachment; filename="leads.{format}"'
    return Response(
        body, media_type=leads_export.MEDIA[format], headers={"Content-Disposition": disposition}
    )


@router.post("/interest", response_model=LeadPublic, dependencies=[any_token])
async def record_interest(ctx: UnitOfWorkDep, response: Response, data: InterestIn) -> object:
    """The open lead of the user with the business: 201 when made now, 200 when updated."""
    lead, created = await leads.record_interest(ctx, data)
    response.status_code = 201 if created else 200
    return lead


@router.get("/{lead_id}", response_model=LeadPublic, dependencies=[admin_only])
async def get_lead(ctx: UnitOfWorkDep, lead_id: uuid.UUID) -> object:
    return leads.public(await leads.get_lead(ctx, lead_id))


@router.put("/{lead_id}", response_model=LeadPublic, dependencies=[admin_only])
async def update_lead(ctx: UnitOfWorkDep, lead_id: uuid.UUID, data: LeadUpdate) -> object:
    return await leads.update_lead(ctx, lead_id, data)


@router.delete("/{lead_id}", status_code=204, dependencies=[admin_only])
async def delete_lead(ctx: UnitOfWorkDep, lead_id: uuid.UUID) -> None:
    await leads.delete_lead(ctx, lead_id)
