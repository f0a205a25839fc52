"""Profile facts per user: listed oldest first, added once (a duplicate returns the stored
fact), at most PROFILE_FACTS_MAX per user, changed in place (keeping their place in the
list; their vectors go, as they were of the old words), deleted one at a time, all at once
(`/memory clear`) or with everything by `/forget` (the foreign keys cascade: a fact's vectors
go with it)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.errors import FieldError, conflict, not_found
from common.infrastructure.wire import PROFILE_FACTS_MAX
from rest_service.app.domain.common import count, get_or_404, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.embedding import FactEmbedding
from rest_service.app.models.profile_fact import ProfileFact, ProfileFactCreate
from rest_service.app.models.user import User

KIND = "profile fact"


async def list_facts(
    ctx: UnitOfWork, user_id: uuid.UUID, page: Page
) -> tuple[list[ProfileFact], int]:
    await get_or_404(ctx.session, User, user_id, "user")
    stmt = (
        select(ProfileFact)
        .where(col(ProfileFact.user_id) == user_id)
        .order_by(col(ProfileFact.created_at), col(ProfileFact.id))
    )
    return await paged(ctx.session, stmt, page)


async def add_fact(
    ctx: UnitOfWork, user_id: uuid.UUID, data: ProfileFactCreate
) -> tuple[ProfileFact, bool]:
    """`True` when stored now; a fact the user already has comes back as it is. The user's
    row is locked so two adds at once cannot pass the cap together."""
    user = await ctx.session.scalar(
        select(User).where(col(User.id) == user_id).with_for_update(key_share=True)
    )
    if user is None:
        raise not_found("user", user_id)
    existing = await _by_key(ctx, user_id, data.key)
    if existing is not None:
        return existing, False
    if await count(ctx.session, col(ProfileFact.user_id) == user_id) >= PROFILE_FACTS_MAX:
        reason = f"the user has {PROFILE_FACTS_MAX} facts, the most kept: delete one first"
        raise conflict(reason, [FieldError("text", reason)])
    await ctx.session.execute(
        insert(ProfileFact)
        .values(id=uuid.uuid4(), user_id=user_id, text=data.text, text_key=data.key)
        .on_conflict_do_nothing(constraint="uq_profile_facts_user_id_text_key")
    )
    fact = await _by_key(ctx, user_id, data.key)
    assert fact is not None
    return fact, True


async def delete_fact(ctx: UnitOfWork, user_id: uuid.UUID, fact_id: uuid.UUID) -> None:
    await get_or_404(ctx.session, User, user_id, "user")
    result = await ctx.session.execute(
        delete(ProfileFact).where(
            col(ProfileFact.user_id) == user_id, col(ProfileFact.id) == fact_id
        )
    )
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(KIND, fact_id)


async def update_fact(
    ctx: UnitOfWork, user_id: uuid.UUID, fact_id: uuid.UUID, data: ProfileFactCreate
) -> ProfileFact:
    """The fact with new words; 409 when another of the user's facts says that already."""
    await get_or_404(ctx.session, User, user_id, "user")
    fact = await ctx.session.scalar(
        select(ProfileFact).where(
            col(ProfileFact.user_id) == user_id, col(ProfileFact.id) == fact_id
        )
    )
    if fact is None:
        raise not_found(KIND, fact_id)
    other = await _by_key(ctx, user_id, data.key)
    if other is not None and other.id != fact_id:
        reason = "the user has this fact already"
        raise conflict(reason, [FieldError("text", reason)])
    if fact.text != data.text:
        await ctx.session.execute(
            delete(FactEmbedding).where(col(FactEmbedding.fact_id) == fact_id)
        )
    fact.text, fact.text_key = data.text, data.key
    await ctx.session.flush()
    return fact


async def clear_facts(ctx: UnitOfWork, user_id: uuid.UUID) -> int:
    """Every fact of the user deleted (with their vectors); how many there were."""
    await get_or_404(ctx.session, User, user_id, "user")
    result = await ctx.session.execute(
        delete(ProfileFact).where(col(ProfileFact.user_id) == user_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _by_key(ctx: UnitOfWork, user_id: uuid.UUID, key: str) -> ProfileFact | None:
    return await ctx.session.scalar(
        select(ProfileFact)
        .where(col(ProfileFact.user_id) == user_id, col(ProfileFact.text_key) == key)
        .execution_options(populate_existing=True)
    )
