"""Google Calendar credentials per user: encrypted at rest, read one user at a time.

A user has at most one *active* connection (what the calendar reads) and one *pending* one: a
Google account consented through the user's link but not yet confirmed by that user in their
own Telegram chat. Whoever opens a link can only ever produce a pending row, which nothing
reads as a connection; the owner's confirm makes it active, a decline or its age drops it.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import not_found
from rest_service.app.domain.common import get_or_404
from rest_service.app.domain.unit_of_work import CommitThenRaise, UnitOfWork
from rest_service.app.models.calendar import (
    CalendarCredential,
    CalendarCredentialsPublic,
    CalendarCredentialsPut,
    CalendarPendingConfirm,
)
from rest_service.app.models.user import User

ACTIVE = "active"
PENDING = "pending"


async def get_credentials(
    ctx: UnitOfWork, user_id: uuid.UUID, status: str = ACTIVE
) -> CalendarCredentialsPublic:
    await get_or_404(ctx.session, User, user_id, "user")
    row = await _row(ctx, user_id, status)
    if row is None:
        raise not_found(f"{_kind(status)} of user", user_id)
    return _public(ctx, row)


async def put_credentials(
    ctx: UnitOfWork, user_id: uuid.UUID, data: CalendarCredentialsPut, status: str = ACTIVE
) -> CalendarCredentialsPublic:
    """Insert or replace (a refresh stores the new tokens the same way). A new pending row
    restarts the owner's time to confirm."""
    await get_or_404(ctx.session, User, user_id, "user")
    encrypted = ctx.box.encrypt(json.dumps(data.credentials))
    pending_since = utcnow() if status == PENDING else None
    stmt = insert(CalendarCredential).values(
        id=uuid.uuid4(),
        user_id=user_id,
        credentials_encrypted=encrypted,
        valid=data.valid,
        status=status,
        pending_since=pending_since,
    )
    stmt = stmt.on_conflict_do_update(
        constraint="uq_calendar_credentials_user_id_status",
        set_={
            "credentials_encrypted": stmt.excluded.credentials_encrypted,
            "valid": stmt.excluded.valid,
            "pending_since": stmt.excluded.pending_since,
            "updated_at": utcnow(),
        },
    )
    await ctx.session.execute(stmt)
    return await get_credentials(ctx, user_id, status)


async def delete_credentials(ctx: UnitOfWork, user_id: uuid.UUID, status: str = ACTIVE) -> None:
    await get_or_404(ctx.session, User, user_id, "user")
    result = await ctx.session.execute(
        delete(CalendarCredential).where(
            col(CalendarCredential.user_id) == user_id, col(CalendarCredential.status) == status
        )
    )
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(f"{_kind(status)} of user", user_id)


async def confirm_pending(
    ctx: UnitOfWork, user_id: uuid.UUID, data: CalendarPendingConfirm
) -> CalendarCredentialsPublic:
    """The owner said yes: the pending row replaces the active one, in one transaction. An
    expired pending row is dropped and answers 404 like a missing one."""
    await get_or_404(ctx.session, User, user_id, "user")
    row = await _row(ctx, user_id, PENDING, for_update=True)
    if row is None:
        raise not_found("pending calendar connection of user", user_id)
    if row.pending_since is None or utcnow() - row.pending_since > timedelta(
        seconds=data.max_age_seconds
    ):
        await ctx.session.delete(row)
        await ctx.session.flush()
        raise CommitThenRaise(not_found("pending calendar connection of user", user_id))
    await ctx.session.execute(
        delete(CalendarCredential).where(
            col(CalendarCredential.user_id) == user_id, col(CalendarCredential.status) == ACTIVE
        )
    )
    await ctx.session.flush()
    row.status, row.pending_since, row.updated_at = ACTIVE, None, utcnow()
    await ctx.session.flush()
    return await get_credentials(ctx, user_id, ACTIVE)


async def expire_pending(
    ctx: UnitOfWork, data: CalendarPendingConfirm
) -> list[CalendarCredentialsPublic]:
    """Drop every pending row older than `max_age_seconds`; answers what was dropped, so the
    caller can revoke those grants at Google and tell their owners."""
    cutoff = utcnow() - timedelta(seconds=data.max_age_seconds)
    rows = (
        await ctx.session.scalars(
            delete(CalendarCredential)
            .where(
                col(CalendarCredential.status) == PENDING,
                col(CalendarCredential.pending_since) < cutoff,
            )
            .returning(CalendarCredential)
        )
    ).all()
    return [_public(ctx, row) for row in rows]


async def _row(
    ctx: UnitOfWork, user_id: uuid.UUID, status: str, *, for_update: bool = False
) -> CalendarCredential | None:
    query = select(CalendarCredential).where(
        col(CalendarCredential.user_id) == user_id, col(CalendarCredential.status) == status
    )
    if for_update:
        query = query.with_for_update()
    return await ctx.session.scalar(query.execution_options(populate_existing=True))


def _kind(status: str) -> str:
    return "pending calendar connection" if status == PENDING else "calendar credentials"


def _public(ctx: UnitOfWork, row: CalendarCredential) -> CalendarCredentialsPublic:
    return CalendarCredentialsPublic(
        user_id=row.user_id,
        credentials=json.loads(ctx.box.decrypt(row.credentials_encrypted)),
        valid=row.valid,
        status=row.status,
        pending_since=row.pending_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
