"""Pairings: `request` is the one place a stranger gets a code (one per person, the same again
while it waits), `decide` the one place an owner answers it. Every change is said on
`pairings:updated` after the commit, so tg_bot's replicas drop their copy of that person."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.features.pairing import new_code
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import not_found
from common.infrastructure.wire import PairingStatus
from rest_service.app.domain.common import paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.pairing import Pairing, PairingCreate

#: A new code that happens to be taken is drawn again this many times (31^6 codes: never
#: more than once in practice).
CODE_ATTEMPTS = 5


async def request(
    ctx: UnitOfWork, data: PairingCreate, draw: Callable[[], str] = new_code
) -> tuple[Pairing, bool]:
    """The person's pairing, made pending with a fresh code (from `draw`) if they have none
    (`True` then); concurrent calls make one row."""
    for _ in range(CODE_ATTEMPTS):
        made = await ctx.session.scalar(
            insert(Pairing)
            .values(code=draw(), status=PairingStatus.pending.value, **data.model_dump())
            .on_conflict_do_nothing()
            .returning(col(Pairing.code))
        )
        found = await _of(ctx, data.telegram_id)
        if found is not None:
            if made is not None:
                _announce(ctx, found.telegram_id)
            return found, made is not None
    raise RuntimeError("no free pairing code")


async def list_pairings(
    ctx: UnitOfWork, page: Page, status: PairingStatus | None
) -> tuple[list[Pairing], int]:
    """Newest first."""
    stmt = select(Pairing).order_by(col(Pairing.created_at).desc(), col(Pairing.code))
    if status is not None:
        stmt = stmt.where(col(Pairing.status) == status)
    return await paged(ctx.session, stmt, page)


async def decide(
    ctx: UnitOfWork, code: str, status: PairingStatus, by: str | None = None
) -> Pairing:
    """Approve or refuse (again: an owner may change their mind); 404 for an unknown code."""
    pairing = await ctx.session.get(Pairing, code, with_for_update=True)
    if pairing is None:
        raise not_found("pairing", code)
    if pairing.status != status:
        pairing.status = status
        pairing.decided_at = utcnow()
        pairing.decided_by = by or ctx.actor
        _announce(ctx, pairing.telegram_id)
    await ctx.session.flush()
    return pairing


async def _of(ctx: UnitOfWork, telegram_id: int) -> Pairing | None:
    stmt = select(Pairing).where(col(Pairing.telegram_id) == telegram_id)
    return (await ctx.session.scalars(stmt.execution_options(populate_existing=True))).first()


def _announce(ctx: UnitOfWork, telegram_id: int) -> None:
    async def announce(ctx: UnitOfWork) -> None:
        await ctx.cache.publish_pairing(telegram_id)

    ctx.after_commit(f"pairing:{telegram_id}", announce)
