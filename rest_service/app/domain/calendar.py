"""Google Calendar credentials per user and Google account: encrypted at rest, read one user
at a time.

A user may connect several Google accounts (work and personal): one *active* row per account,
one of them the *default* (where new events go; what the single-connection routes mean). At
most one *pending* row per user: a Google account consented through the user's link but not
yet confirmed by that user in their own Telegram chat. Whoever opens a link can only ever
produce a pending row, which nothing reads as a connection; the owner's confirm makes it the
active row of its account (refreshing an account connected before), a decline or its age
drops it.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import not_found
from rest_service.app.domain.common import get_or_404
from rest_service.app.domain.unit_of_work import CommitThenRaise, UnitOfWork
from rest_service.app.models.calendar import (
    ACCOUNT_MAX,
    CalendarCredential,
    CalendarCredentialsPublic,
    CalendarCredentialsPut,
    CalendarPendingConfirm,
)
from rest_service.app.models.user import User

ACTIVE = "active"
PENDING = "pending"


def account_key(account: object) -> str:
    """How an account is named among a user's rows: its address, trimmed and lower-cased."""
    return account.strip().casefold()[:ACCOUNT_MAX] if isinstance(account, str) else ""


async def get_credentials(
    ctx: UnitOfWork, user_id: uuid.UUID, status: str = ACTIVE, account: str | None = None
) -> CalendarCredentialsPublic:
    """The pending row, or the active row of `account` (None: the default account)."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    row = await _row(ctx, user_id, status, account)
    if row is None:
        raise not_found(_kind(status, account), user_id)
    return _public(ctx, row)


async def list_accounts(ctx: UnitOfWork, user_id: uuid.UUID) -> list[CalendarCredentialsPublic]:
    """Every connected account of the user's, the default first, then in connecting order."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    rows = await ctx.session.scalars(
        _active(user_id)
        .order_by(
            col(CalendarCredential.is_default).desc(),
            col(CalendarCredential.created_at),
            col(CalendarCredential.account),
        )
        .execution_options(populate_existing=True)
    )
    return [_public(ctx, row) for row in rows]


async def put_credentials(
    ctx: UnitOfWork,
    user_id: uuid.UUID,
    data: CalendarCredentialsPut,
    status: str = ACTIVE,
    account: str | None = None,
) -> CalendarCredentialsPublic:
    """Insert or replace (a refresh stores the new tokens the same way). Active: the row of
    `account`, else the default account's (a user's first account becomes the default). A new
    pending row replaces the user's pending one and restarts the owner's time to confirm."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    if status == PENDING:
        key = account_key(data.credentials.get("account"))
    elif account is None:
        default = await _row(ctx, user_id, ACTIVE, None)
        key = default.account if default else account_key(data.credentials.get("account"))
    else:
        key = account_key(account)
    has_default = await _row(ctx, user_id, ACTIVE, None) is not None
    stmt = insert(CalendarCredential).values(
        id=uuid.uuid4(),
        user_id=user_id,
        credentials_encrypted=ctx.box.encrypt(json.dumps(data.credentials)),
        valid=data.valid,
        status=status,
        pending_since=utcnow() if status == PENDING else None,
        account=key,
        is_default=status == ACTIVE and not has_default,
    )
    changes = {
        "credentials_encrypted": stmt.excluded.credentials_encrypted,
        "valid": stmt.excluded.valid,
        "pending_since": stmt.excluded.pending_since,
        "updated_at": utcnow(),
    }
    if status == PENDING:
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            index_where=text("status = 'pending'"),
            set_=changes | {"account": stmt.excluded.account},
        )
    else:
        stmt = stmt.on_conflict_do_update(
            constraint="uq_calendar_credentials_user_id_status_account", set_=changes
        )
    await ctx.session.execute(stmt)
    return await get_credentials(ctx, user_id, status, key if status == ACTIVE else None)


async def delete_credentials(
    ctx: UnitOfWork, user_id: uuid.UUID, status: str = ACTIVE, account: str | None = None
) -> None:
    """The pending row, or one account (None: the default one); when the default goes, the
    earliest connected of the others becomes the default."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    row = await _row(ctx, user_id, status, account, for_update=True)
    if row is None:
        raise not_found(_kind(status, account), user_id)
    was_default = row.is_default
    await ctx.session.delete(row)
    await ctx.session.flush()
    if was_default:
        successor = await ctx.session.scalar(
            _active(user_id).order_by(col(CalendarCredential.created_at)).limit(1)
        )
        if successor is not None:
            successor.is_default = True
            await ctx.session.flush()


async def set_default_account(
    ctx: UnitOfWork, user_id: uuid.UUID, account: str
) -> CalendarCredentialsPublic:
    """New events go to `account` from now on (404 when the user has not connected it)."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    row = await _row(ctx, user_id, ACTIVE, account, for_update=True)
    if row is None:
        raise not_found(_kind(ACTIVE, account), user_id)
    await _clear_default(ctx, user_id)
    row.is_default, row.updated_at = True, utcnow()
    await ctx.session.flush()
    return _public(ctx, row)


async def confirm_pending(
    ctx: UnitOfWork, user_id: uuid.UUID, data: CalendarPendingConfirm
) -> CalendarCredentialsPublic:
    """The owner said yes: the pending row becomes its account's active row (replacing the one
    connected before, which keeps being the default if it was), in one transaction; a user's
    first account becomes the default. An expired pending row is dropped and answers 404 like
    a missing one."""
    await get_or_404(ctx.session, User, user_id, "user")
    await _learn_accounts(ctx, user_id)
    row = await _row(ctx, user_id, PENDING, None, for_update=True)
    if row is None:
        raise not_found("pending calendar connection of user", user_id)
    if row.pending_since is None or utcnow() - row.pending_since > timedelta(
        seconds=data.max_age_seconds
    ):
        await ctx.session.delete(row)
        await ctx.session.flush()
        raise CommitThenRaise(not_found("pending calendar connection of user", user_id))
    replaced = await _row(ctx, user_id, ACTIVE, row.account, for_update=True)
    keeps_default = replaced is not None and replaced.is_default
    if replaced is not None:
        await ctx.session.delete(replaced)
        await ctx.session.flush()
    default = await _row(ctx, user_id, ACTIVE, None)
    row.status, row.pending_since, row.updated_at = ACTIVE, None, utcnow()
    row.is_default = keeps_default or default is None
    await ctx.session.flush()
    return _public(ctx, row)


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


def _active(user_id: uuid.UUID) -> Select[CalendarCredential]:
    return select(CalendarCredential).where(
        col(CalendarCredential.user_id) == user_id, col(CalendarCredential.status) == ACTIVE
    )


async def _row(
    ctx: UnitOfWork,
    user_id: uuid.UUID,
    status: str,
    account: str | None,
    *,
    for_update: bool = False,
) -> CalendarCredential | None:
    """The pending row (`account` is ignored), or the active row of `account` (None: the
    default)."""
    query = select(CalendarCredential).where(
        col(CalendarCredential.user_id) == user_id, col(CalendarCredential.status) == status
    )
    if status == ACTIVE:
        query = query.where(
            col(CalendarCredential.is_default)
            if account is None
            else col(CalendarCredential.account) == account_key(account)
        )
    if for_update:
        query = query.with_for_update()
    return await ctx.session.scalar(query.execution_options(populate_existing=True))


async def _clear_default(ctx: UnitOfWork, user_id: uuid.UUID) -> None:
    await ctx.session.execute(
        update(CalendarCredential)
        .where(col(CalendarCredential.user_id) == user_id, col(CalendarCredential.is_default))
        .values(is_default=False)
    )
    await ctx.session.flush()


async def _learn_accounts(ctx: UnitOfWork, user_id: uuid.UUID) -> None:
    """Rows from before several accounts have no account name (the migration cannot decrypt):
    it is copied from their credentials the first time they are read, unless another row of
    the user's already goes by it."""
    legacy = (
        await ctx.session.scalars(
            select(CalendarCredential).where(
                col(CalendarCredential.user_id) == user_id,
                col(CalendarCredential.account) == "",
            )
        )
    ).all()
    for row in legacy:
        key = account_key(json.loads(ctx.box.decrypt(row.credentials_encrypted)).get("account"))
        taken = await ctx.session.scalar(
            select(col(CalendarCredential.id)).where(
                col(CalendarCredential.user_id) == user_id,
                col(CalendarCredential.status) == row.status,
                col(CalendarCredential.account) == key,
            )
        )
        if key and taken is None:
            row.account = key
            await ctx.session.flush()


def _kind(status: str, account: str | None = None) -> str:
    if status == PENDING:
        return "pending calendar connection"
    return f"calendar account {account_key(account)!r}" if account else "calendar credentials"


def _public(ctx: UnitOfWork, row: CalendarCredential) -> CalendarCredentialsPublic:
    return CalendarCredentialsPublic(
        user_id=row.user_id,
        credentials=json.loads(ctx.box.decrypt(row.credentials_encrypted)),
        valid=row.valid,
        status=row.status,
        pending_since=row.pending_since,
        account=row.account,
        is_default=row.is_default,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
