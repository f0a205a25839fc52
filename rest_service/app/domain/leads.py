"""Leads: a conversation that showed interest, one open lead (new or in progress) per
customer and business. `record_interest` is the one place a conversation makes or updates a
lead and `update_lead` the one place the business's people change it: an outgoing event of a
lead belongs right there (decision 0049)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.infrastructure.errors import invalid, not_found
from rest_service.app.domain.common import constraint_name, get_or_404, non_null, paged
from rest_service.app.domain.contacts import find_contact, lock_customer
from rest_service.app.domain.events import emit_event
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.catalogue import CatalogueItem
from rest_service.app.models.contacts import Contact
from rest_service.app.models.leads import (
    MAX_ITEMS,
    NOTES_MAX,
    OPEN_STATUSES,
    InterestIn,
    Lead,
    LeadPublic,
    LeadStatus,
    LeadUpdate,
)
from rest_service.app.models.webhook import WebhookEvent

KIND = "lead"
Ts = TypeVarTuple("Ts")
_MISSING = {
    "fk_leads_user_id_users": ("user_id", "no such user"),
    "fk_leads_assistant_id_assistants": ("assistant_id", "no such assistant"),
}


@dataclass(frozen=True)
class LeadFilter:
    """What a list or an export narrows to; `None` is "any". Dates bound `created_at`."""

    status: LeadStatus | None = None
    assistant_id: uuid.UUID | None = None
    owner: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    user_id: uuid.UUID | None = None


def public(lead: Lead) -> LeadPublic:
    return LeadPublic.model_validate(lead.model_dump())


async def record_interest(ctx: UnitOfWork, data: InterestIn) -> tuple[LeadPublic, bool]:
    """The open lead of (user, business), made now when `True`: the items asked about added
    (catalogue items by id or name, others as said), the note appended, the contact
    attached. One conversation makes one lead, however many messages show interest."""
    await lock_customer(ctx, data.user_id, data.assistant_id)
    created = await _open_if_none(ctx, data)
    lead = await _open_lead(ctx, data.user_id, data.assistant_id)
    assert lead is not None  # made above, or open and locked
    lead.items = _merged(lead.items, await _resolved(ctx, data.assistant_id, data.items))
    if data.note:
        lead.notes = _appended(lead.notes, data.note)
    lead.bot = lead.bot or data.bot
    lead.start_payload = lead.start_payload or data.start_payload
    if lead.contact_id is None:
        contact = await find_contact(ctx, data.user_id, data.assistant_id)
        lead.contact_id = contact.id if contact else None
    await ctx.session.flush()
    await ctx.session.refresh(lead)
    shown = public(lead)
    await _announce(ctx, shown, WebhookEvent.lead_created if created else WebhookEvent.lead_updated)
    return shown, created


async def update_lead(ctx: UnitOfWork, lead_id: uuid.UUID, data: LeadUpdate) -> LeadPublic:
    """Status, owner and notes; a second open lead of the same customer is a 409."""
    lead = await get_lead(ctx, lead_id)
    for name, value in non_null(Lead, data.model_dump(exclude_unset=True)).items():
        setattr(lead, name, value)
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        raise invalid("status", "this customer has another open lead with this business") from exc
    await ctx.session.refresh(lead)
    shown = public(lead)
    await _announce(ctx, shown, WebhookEvent.lead_updated)
    return shown


async def _announce(ctx: UnitOfWork, lead: LeadPublic, event: WebhookEvent) -> None:
    """The lead to the subscribed webhooks and Bitrix24 (decision 0050), in the change's
    transaction: with the customer's contact for this business when there is one."""
    contact = (
        await ctx.session.get(Contact, lead.contact_id) if lead.contact_id is not None else None
    )
    asked = ", ".join(str(item.get("name", "")) for item in lead.items if item.get("name"))
    data: dict[str, Any] = {
        **lead.model_dump(mode="json"),
        "title": f"Lead: {asked}" if asked else None,
        "name": contact.name if contact else None,
        "phone": contact.phone if contact else None,
        "email": contact.email if contact else None,
        "comments": lead.notes or None,
        "source": lead.channel,
    }
    await emit_event(ctx, event, data)


async def get_lead(ctx: UnitOfWork, lead_id: uuid.UUID) -> Lead:
    return await get_or_404(ctx.session, Lead, lead_id, KIND)


async def delete_lead(ctx: UnitOfWork, lead_id: uuid.UUID, cascade: bool = False) -> None:
    """Nothing refers to a lead: `cascade` is accepted for the admin's one delete shape."""
    result = await ctx.session.execute(delete(Lead).where(col(Lead.id) == lead_id))
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(KIND, lead_id)


async def list_leads(
    ctx: UnitOfWork, page: Page, where: LeadFilter
) -> tuple[list[LeadPublic], int]:
    """Newest first."""
    rows, total = await paged(ctx.session, filtered(select(Lead), where), page)
    return [public(r) for r in rows], total


def filtered(stmt: Select[*Ts], where: LeadFilter) -> Select[*Ts]:
    """`stmt` (over `leads`) narrowed by `where`, newest first."""
    if where.status is not None:
        stmt = stmt.where(col(Lead.status) == where.status)
    if where.assistant_id is not None:
        stmt = stmt.where(col(Lead.assistant_id) == where.assistant_id)
    if where.user_id is not None:
        stmt = stmt.where(col(Lead.user_id) == where.user_id)
    if where.owner is not None:
        stmt = stmt.where(func.lower(col(Lead.owner)) == where.owner.strip().lower())
    if where.created_from is not None:
        stmt = stmt.where(col(Lead.created_at) >= where.created_from)
    if where.created_to is not None:
        stmt = stmt.where(col(Lead.created_at) < where.created_to)
    return stmt.order_by(col(Lead.created_at).desc(), col(Lead.id))


async def _open_if_none(ctx: UnitOfWork, data: InterestIn) -> bool:
    """Makes the open lead unless one exists (two messages at once make one: the partial
    unique index decides)."""
    stmt = (
        insert(Lead)
        .values(
            id=uuid.uuid4(),
            assistant_id=data.assistant_id,
            user_id=data.user_id,
            conversation_key=data.conversation_key,
            items=[],
            channel=data.channel,
            status=LeadStatus.new.value,
            notes="",
            created_at=func.now(),
            updated_at=func.now(),
        )
        .on_conflict_do_nothing(
            index_elements=["user_id", "assistant_id"],
            # literal, as the index says it: with bound values a generic plan (the sixth run
            # of the prepared statement on a connection) cannot match the partial index
            index_where=text("status IN ('new', 'in_progress')"),
        )
        .returning(col(Lead.id))
    )
    try:
        made = await ctx.session.scalar(stmt)
    except IntegrityError as exc:
        field, reason = _MISSING.get(constraint_name(exc) or "", ("user_id", "no such user"))
        raise invalid(field, reason) from exc
    return made is not None


async def _open_lead(ctx: UnitOfWork, user_id: uuid.UUID, assistant_id: uuid.UUID) -> Lead | None:
    stmt = (
        select(Lead)
        .where(
            col(Lead.user_id) == user_id,
            col(Lead.assistant_id) == assistant_id,
            col(Lead.status).in_(OPEN_STATUSES),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await ctx.session.scalar(stmt)


async def _resolved(
    ctx: UnitOfWork, assistant_id: uuid.UUID, said: list[str]
) -> list[dict[str, Any]]:
    """Each item as `{"item_id", "name"}`: a catalogue item of this business (or a shared
    one) when the words are its id or its name, else the words as said."""
    if not said:
        return []
    ids = [i for i in (_uuid(words) for words in said) if i is not None]
    names = [words.casefold() for words in said]
    scope = or_(
        col(CatalogueItem.assistant_id) == assistant_id, col(CatalogueItem.assistant_id).is_(None)
    )
    found = (
        await ctx.session.scalars(
            select(CatalogueItem).where(
                scope,
                or_(col(CatalogueItem.id).in_(ids), func.lower(col(CatalogueItem.name)).in_(names)),
            )
        )
    ).all()
    by_key = {str(item.id): item for item in found} | {item.name.casefold(): item for item in found}
    resolved: list[dict[str, Any]] = []
    for words in said:
        item = by_key.get(str(_uuid(words))) or by_key.get(words.casefold())
        resolved.append(
            {"item_id": str(item.id), "name": item.name}
            if item
            else {"item_id": None, "name": words}
        )
    return resolved


def _merged(stored: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored first, each item once (by catalogue id, else by name), at most `MAX_ITEMS`."""
    seen = {_item_key(item) for item in stored}
    merged = list(stored)
    for item in added:
        if _item_key(item) not in seen and len(merged) < MAX_ITEMS:
            seen.add(_item_key(item))
            merged.append(item)
    return merged


def _item_key(item: dict[str, Any]) -> str:
    return str(item.get("item_id") or str(item.get("name", "")).casefold())


def _appended(notes: str, note: str) -> str:
    """A note once, on its own line; the oldest lines give way when the notes are full."""
    line = " ".join(note.split())
    lines = notes.splitlines()
    if line in lines:
        return notes
    joined = "\n".join([*lines, line])
    return joined[-NOTES_MAX:]


def _uuid(words: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(words)
    except ValueError:
        return None
