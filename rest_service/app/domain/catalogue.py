"""The catalogue: items of one business assistant or shared by all, listed and searched by
words (Russian and English, the chat history's full-text approach), tag, price and
availability. The catalogue is business data, not live config: a write bumps no config
version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.infrastructure.errors import invalid, not_found
from rest_service.app.domain.chat_messages import tsquery
from rest_service.app.domain.common import (
    conflict_from,
    get_or_404,
    is_foreign_key_violation,
    non_null,
    paged,
)
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.catalogue import (
    CatalogueItem,
    CatalogueItemCreate,
    CatalogueItemPublic,
    CatalogueItemUpdate,
    price_error,
    tag_key,
)
from rest_service.app.models.currencies import MINOR_UNITS

KIND = "catalogue item"


@dataclass(frozen=True)
class ItemFilter:
    """What a list or a search narrows to; `None` is "any"."""

    query: str | None = None
    tag: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    currency: str | None = None
    available: bool | None = None
    is_active: bool | None = None
    #: The admin's list: this assistant's items only (`shared` for the items of every one).
    assistant_id: uuid.UUID | None = None
    shared: bool | None = None


def public(item: CatalogueItem) -> CatalogueItemPublic:
    """The price with exactly its currency's decimals, as it is shown everywhere."""
    digits = MINOR_UNITS.get(item.currency, 2)
    price = Decimal(item.price).quantize(Decimal(1).scaleb(-digits))
    return CatalogueItemPublic.model_validate({**item.model_dump(), "price": price})


async def list_items(
    ctx: UnitOfWork, page: Page, where: ItemFilter
) -> tuple[list[CatalogueItemPublic], int]:
    """By name (ranked by relevance when searching words)."""
    stmt = _filtered(select(CatalogueItem), where)
    if where.assistant_id is not None:
        stmt = stmt.where(col(CatalogueItem.assistant_id) == where.assistant_id)
    if where.shared is not None:
        shared = col(CatalogueItem.assistant_id).is_(None)
        stmt = stmt.where(shared if where.shared else ~shared)
    rows, total = await paged(ctx.session, _ordered(stmt, where.query), page)
    return [public(r) for r in rows], total


async def search_items(
    ctx: UnitOfWork,
    assistant_id: uuid.UUID | None,
    where: ItemFilter,
    item_id: uuid.UUID | None,
    limit: int,
) -> list[CatalogueItemPublic]:
    """What one assistant offers: its own active items and the shared ones (only shared ones
    without an assistant), best match first."""
    scope: ColumnElement[bool] = col(CatalogueItem.assistant_id).is_(None)
    if assistant_id is not None:
        scope = or_(scope, col(CatalogueItem.assistant_id) == assistant_id)
    stmt = _filtered(select(CatalogueItem), where).where(
        scope, col(CatalogueItem.is_active).is_(True)
    )
    if item_id is not None:
        stmt = stmt.where(col(CatalogueItem.id) == item_id)
    rows = (await ctx.session.scalars(_ordered(stmt, where.query).limit(limit))).all()
    return [public(r) for r in rows]


async def get_item(ctx: UnitOfWork, item_id: uuid.UUID) -> CatalogueItem:
    return await get_or_404(ctx.session, CatalogueItem, item_id, KIND)


async def create_item(ctx: UnitOfWork, data: CatalogueItemCreate) -> CatalogueItemPublic:
    fields = data.model_dump(exclude_unset=True)
    if fields.get("id") is None:
        fields.pop("id", None)
    item = CatalogueItem.model_validate(fields)
    ctx.session.add(item)
    await flush_items(ctx)
    return public(item)


async def update_item(
    ctx: UnitOfWork, item_id: uuid.UUID, data: CatalogueItemUpdate
) -> CatalogueItemPublic:
    item = await get_item(ctx, item_id)
    changes = non_null(CatalogueItem, data.model_dump(exclude_unset=True))
    price = changes.get("price", item.price)
    currency = changes.get("currency", item.currency)
    if problem := price_error(Decimal(price), currency):
        raise invalid("price", problem)
    for name, value in changes.items():
        setattr(item, name, value)
    await flush_items(ctx)
    await ctx.session.refresh(item)
    return public(item)


async def delete_item(ctx: UnitOfWork, item_id: uuid.UUID, cascade: bool = False) -> None:
    """Nothing refers to an item: `cascade` is accepted for the admin's one delete shape."""
    result = await ctx.session.execute(
        delete(CatalogueItem).where(col(CatalogueItem.id) == item_id)
    )
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(KIND, item_id)


def _filtered(stmt: Select[Any], where: ItemFilter) -> Select[Any]:
    item = CatalogueItem
    terms = _tsquery(where.query)
    if terms is not None:
        stmt = stmt.where(col(item.search_vector).op("@@")(terms))
    if where.tag:
        tag = func.jsonb_build_array(tag_key(where.tag)).cast(JSONB)
        stmt = stmt.where(col(item.tags).op("@>")(tag))
    if where.min_price is not None:
        stmt = stmt.where(col(item.price) >= where.min_price)
    if where.max_price is not None:
        stmt = stmt.where(col(item.price) <= where.max_price)
    if where.currency is not None:
        stmt = stmt.where(col(item.currency) == where.currency.upper())
    if where.available is not None:
        stmt = stmt.where(col(item.available).is_(where.available))
    if where.is_active is not None:
        stmt = stmt.where(col(item.is_active).is_(where.is_active))
    return stmt


def _ordered(stmt: Select[Any], query: str | None) -> Select[Any]:
    terms = _tsquery(query)
    by_name = (col(CatalogueItem.name), col(CatalogueItem.id))
    if terms is None:
        return stmt.order_by(*by_name)
    rank = func.ts_rank_cd(col(CatalogueItem.search_vector), terms)
    return stmt.order_by(rank.desc(), *by_name)


def _tsquery(query: str | None) -> ColumnElement[Any] | None:
    """Any of the words (each stemmed), so "haircut price" finds the haircut."""
    terms = tsquery(query, match_all=False) if query else None
    # One InitPlan per statement, as the chat history's search does.
    return None if terms is None else select(terms).scalar_subquery()


async def flush_items(ctx: UnitOfWork) -> None:
    """A sku taken in the item's scope, or an id taken, is a 409 naming it; an assistant that
    does not exist (or was deleted meanwhile) a 422 naming `assistant_id`."""
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise invalid("assistant_id", "no such assistant") from exc
        raise conflict_from(exc) from exc
