"""/api/contacts: customers' details for one business, saved with their consent. The admin
lists, reads and deletes them; a service saves, reads and deletes only the contact of the
user and business it names (the `contact` tool, for the message's sender)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import contacts
from rest_service.app.domain.contacts import ContactFilter
from rest_service.app.models.contacts import ContactIn, ContactPublic

router = APIRouter(prefix="/api/contacts", tags=["contacts"], responses=ERRORS)
OF = "/of/{user_id}/{assistant_id}"


@router.get("/", response_model=list[ContactPublic], dependencies=[admin_only])
async def list_contacts(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    assistant_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="part of a name, phone or e-mail")
    ] = None,
) -> object:
    """Newest first."""
    rows, total = await contacts.list_contacts(ctx, page, ContactFilter(assistant_id, user_id, q))
    set_total(response, total)
    return rows


@router.get(OF, response_model=ContactPublic, dependencies=[any_token])
async def get_contact_of(ctx: UnitOfWorkDep, user_id: uuid.UUID, assistant_id: uuid.UUID) -> object:
    """The user's contact with this business; 404 when they saved none."""
    return await contacts.get_contact_of(ctx, user_id, assistant_id)


@router.put(OF, response_model=ContactPublic, dependencies=[any_token])
async def save_contact(
    ctx: UnitOfWorkDep,
    response: Response,
    user_id: uuid.UUID,
    assistant_id: uuid.UUID,
    data: ContactIn,
) -> object:
    """201 when made, 200 when updated (fields left out keep their values; the consent is
    renewed). The phone is stored in E.164; a number that is not one is a 422 on `phone`."""
    contact, created = await contacts.save_contact(ctx, user_id, assistant_id, data)
    response.status_code = 201 if created else 200
    return contact


@router.delete(OF, status_code=204, dependencies=[any_token])
async def delete_contact_of(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, assistant_id: uuid.UUID
) -> None:
    await contacts.delete_contact_of(ctx, user_id, assistant_id)


@router.get("/{contact_id}", response_model=ContactPublic, dependencies=[admin_only])
async def get_contact(ctx: UnitOfWorkDep, contact_id: uuid.UUID) -> object:
    return contacts.public(await contacts.get_contact(ctx, contact_id))


@router.delete("/{contact_id}", status_code=204, dependencies=[admin_only])
async def delete_contact(ctx: UnitOfWorkDep, contact_id: uuid.UUID) -> None:
    await contacts.delete_contact(ctx, contact_id)
