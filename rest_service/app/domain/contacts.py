"""Contacts: a customer's details for one business, saved with the consent they agreed to.
A save is an upsert of the one row of (user, business); the phone is stored in E.164. A
business never sees another's contacts: every read for a service names both."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Result, Select, delete, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import invalid, not_found
from rest_service.app.domain.common import constraint_name, get_or_404, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.contacts import Contact, ContactIn, ContactPublic
from rest_service.app.models.leads import OPEN_STATUSES, Lead
from rest_service.app.phones import InvalidPhoneError, normalise_phone

KIND = "contact"
#: A foreign key a save can miss → the field that names it.
_MISSING = {
    "fk_contacts_user_id_users": ("user_id", "no such user"),
    "fk_contacts_assistant_id_assistants": ("assistant_id", "no such assistant"),
}


@dataclass(frozen=True)
class ContactFilter:
    assistant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    #: Words of the name, phone or e-mail.
    query: str | None = None


def public(contact: Contact) -> ContactPublic:
    return ContactPublic.model_validate(contact.model_dump())


async def save_contact(
    ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID, data: ContactIn
) -> tuple[ContactPublic, bool]:
    """The customer's details for this business (made when `True`), the consent renewed; an
    open lead of the customer with this business gets the contact."""
    fields = _fields(ctx, data)
    await lock_customer(ctx, user_id, assistant_id)
    now = utcnow()
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "assistant_id": assistant_id,
        **fields,
        "consented_at": now,
        "created_at": now,
        "updated_at": now,
    }
    values = insert(Contact).values(row)
    renewed = [*fields, "consented_at", "updated_at"]
    upsert = values.on_conflict_do_update(
        constraint="uq_contacts_user_assistant",
        set_={name: values.excluded[name] for name in renewed},
    )
    try:
        made: Result[uuid.UUID, bool] = await ctx.session.execute(
            upsert.returning(col(Contact.id), literal_column("xmax = 0"))
        )
        contact_id, created = made.one()
    except IntegrityError as exc:
        field, reason = _MISSING.get(constraint_name(exc) or "", ("user_id", "no such user"))
        raise invalid(field, reason) from exc
    contact = await ctx.session.get(Contact, contact_id, populate_existing=True)
    assert contact is not None  # the statement above returned its id in this transaction
    await _attach_to_open_lead(ctx, contact)
    return public(contact), bool(created)


async def lock_customer(ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID) -> None:
    """Until the unit ends: a contact saved and a lead made at once for one customer see each
    other (the second waits, then finds the first), so the lead gets the contact."""
    key = func.hashtextextended(f"customer:{user_id}:{assistant_id}", 0)
    await ctx.session.execute(select(func.pg_advisory_xact_lock(key)))


async def find_contact(
    ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID
) -> Contact | None:
    contact: Contact | None = await ctx.session.scalar(_of(user_id, assistant_id))
    return contact


async def get_contact_of(
    ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID
) -> ContactPublic:
    contact = await find_contact(ctx, user_id, assistant_id)
    if contact is None:
        raise not_found(KIND, f"{user_id}/{assistant_id}")
    return public(contact)


async def delete_contact_of(ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID) -> None:
    """The customer asked to remove their details from this business."""
    contact = await find_contact(ctx, user_id, assistant_id)
    if contact is None:
        raise not_found(KIND, f"{user_id}/{assistant_id}")
    await delete_contact(ctx, contact.id)


async def list_contacts(
    ctx: UnitOfWork, page: Page, where: ContactFilter
) -> tuple[list[ContactPublic], int]:
    """Newest first."""
    stmt = select(Contact)
    if where.assistant_id is not None:
        stmt = stmt.where(col(Contact.assistant_id) == where.assistant_id)
    if where.user_id is not None:
        stmt = stmt.where(col(Contact.user_id) == where.user_id)
    if where.query:
        like = f"%{_escaped(where.query)}%"
        stmt = stmt.where(
            or_(
                col(Contact.name).ilike(like, escape="\\"),
                col(Contact.phone).ilike(like, escape="\\"),
                col(Contact.email).ilike(like, escape="\\"),
            )
        )
    stmt = stmt.order_by(col(Contact.created_at).desc(), col(Contact.id))
    rows, total = await paged(ctx.session, stmt, page)
    return [public(r) for r in rows], total


async def get_contact(ctx: UnitOfWork, contact_id: uuid.UUID) -> Contact:
    return await get_or_404(ctx.session, Contact, contact_id, KIND)


async def delete_contact(ctx: UnitOfWork, contact_id: uuid.UUID, cascade: bool = False) -> None:
    """A lead that had the contact keeps its other fields (`contact_id` becomes null);
    `cascade` is accepted for the admin's one delete shape."""
    result = await ctx.session.execute(delete(Contact).where(col(Contact.id) == contact_id))
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(KIND, contact_id)


def _fields(ctx: UnitOfWork, data: ContactIn) -> dict[str, Any]:
    """What the save sets: the fields given, the phone in E.164, the consent text always."""
    fields = data.model_dump(exclude_unset=True)
    if fields.get("phone") is not None:
        try:
            fields["phone"] = normalise_phone(fields["phone"], ctx.settings.phone_default_region)
        except InvalidPhoneError as exc:
            raise invalid("phone", str(exc)) from exc
    if fields.get("email") is not None:
        fields["email"] = str(fields["email"])
    return fields


async def _attach_to_open_lead(ctx: UnitOfWork, contact: Contact) -> None:
    await ctx.session.execute(
        update(Lead)
        .where(
            col(Lead.user_id) == contact.user_id,
            col(Lead.assistant_id) == contact.assistant_id,
            col(Lead.status).in_(OPEN_STATUSES),
            col(Lead.contact_id).is_(None),
        )
        .values(contact_id=contact.id)
    )


def _of(user_id: uuid.UUID, assistant_id: uuid.UUID) -> Select[Any]:
    return select(Contact).where(
        col(Contact.user_id) == user_id, col(Contact.assistant_id) == assistant_id
    )


def _escaped(words: str) -> str:
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
