"""Google Calendar credentials per user: encrypted at rest, read one user at a time."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from rest_service.app.errors import not_found
from rest_service.app.models.calendar import (
    CalendarCredential,
    CalendarCredentialsPublic,
    CalendarCredentialsPut,
)
from rest_service.app.models.user import User
from rest_service.app.services.common import get_or_404
from rest_service.app.services.context import Ctx


async def get_credentials(ctx: Ctx, user_id: uuid.UUID) -> CalendarCredentialsPublic:
    await get_or_404(ctx.session, User, user_id, "user")
    row = await ctx.session.scalar(
        select(CalendarCredential)
        .where(CalendarCredential.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise not_found("calendar credentials of user", user_id)
    return _public(ctx, row)


async def put_credentials(
    ctx: Ctx, user_id: uuid.UUID, data: CalendarCredentialsPut
) -> CalendarCredentialsPublic:
    """Insert or replace (a refresh stores the new tokens the same way)."""
    await get_or_404(ctx.session, User, user_id, "user")
    encrypted = ctx.box.encrypt(json.dumps(data.credentials))
    stmt = insert(CalendarCredential).values(
        id=uuid.uuid4(), user_id=user_id, credentials_encrypted=encrypted, valid=data.valid
    )
    stmt = stmt.on_conflict_do_update(
        constraint="uq_calendar_credentials_user_id_status",
        set_={
            "credentials_encrypted": stmt.excluded.credentials_encrypted,
            "valid": stmt.excluded.valid,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await ctx.session.execute(stmt)
    await ctx.session.commit()
    return await get_credentials(ctx, user_id)


async def delete_credentials(ctx: Ctx, user_id: uuid.UUID) -> None:
    await get_or_404(ctx.session, User, user_id, "user")
    result = await ctx.session.execute(
        delete(CalendarCredential).where(CalendarCredential.user_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found("calendar credentials of user", user_id)
    await ctx.session.commit()


def _public(ctx: Ctx, row: CalendarCredential) -> CalendarCredentialsPublic:
    return CalendarCredentialsPublic(
        user_id=row.user_id,
        credentials=json.loads(ctx.box.decrypt(row.credentials_encrypted)),
        valid=row.valid,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
