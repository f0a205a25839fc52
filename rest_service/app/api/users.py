"""/api/users: get-or-create by Telegram id, settings, `/forget`, calendar credentials."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic_core import to_json

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import any_token, calendar_credentials_only
from rest_service.app.domain import calendar, users
from rest_service.app.models.base import BIGINT_MAX
from rest_service.app.models.calendar import (
    ACCOUNT_MAX,
    CalendarCredentialsPublic,
    CalendarCredentialsPut,
    CalendarDefaultAccountPut,
    CalendarPendingConfirm,
)
from rest_service.app.models.user import (
    TelegramUserPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERRORS)

TelegramId = Annotated[int, Path(gt=0, le=BIGINT_MAX)]
#: Which connected Google account (its address); left out: the user's default account.
AccountQuery = Annotated[str | None, Query(min_length=1, max_length=ACCOUNT_MAX)]


@router.get("/", response_model=list[UserPublic], dependencies=[any_token])
async def list_users(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    blocked: bool | None = None,
    event_alerts: bool | None = None,
) -> object:
    """`event_alerts=true`: the users who asked for alerts before their events."""
    rows, total = await users.list_users(ctx, page, blocked, event_alerts)
    set_total(response, total)
    return rows


@router.post(
    "/",
    response_model=TelegramUserPublic,
    status_code=201,
    responses={200: {"model": TelegramUserPublic, "description": "the user existed"}},
    dependencies=[any_token],
)
async def get_or_create_user(ctx: UnitOfWorkDep, data: UserCreate) -> object:
    """Get-or-create by `telegram_id`: 201 when made, 200 with the stored user otherwise;
    concurrent calls make one row."""
    user, made = await users.get_or_create_user(ctx, data)
    # tg_bot asks for every message: the row as JSON, no model round trip.
    return Response(to_json(user), status_code=201 if made else 200, media_type="application/json")


@router.get(
    "/by-telegram/{telegram_id}", response_model=TelegramUserPublic, dependencies=[any_token]
)
async def get_user_by_telegram(ctx: UnitOfWorkDep, telegram_id: TelegramId) -> object:
    return await users.get_by_telegram(ctx, telegram_id)


@router.get("/{user_id}", response_model=UserPublic, dependencies=[any_token])
async def get_user(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    return await users.get_user(ctx, user_id)


@router.put("/{user_id}", response_model=UserPublic, dependencies=[any_token])
async def update_user(ctx: UnitOfWorkDep, user_id: uuid.UUID, data: UserUpdate) -> object:
    """Settings and `blocked`. `timezone` must be an IANA name and `preferred_model` one of
    /api/llm-models/ (422 otherwise); null clears either."""
    return await users.update_user(ctx, user_id, data)


@router.delete("/{user_id}", status_code=204, dependencies=[any_token])
async def forget_user(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> None:
    """`/forget`: the user and everything of theirs (messages, threads, jobs and runs,
    calendar credentials, tool calls)."""
    await users.forget_user(ctx, user_id)


@router.get(
    "/{user_id}/calendar-credentials",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def get_calendar_credentials(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, account: AccountQuery = None
) -> object:
    """Decrypted, for google_calendar_service only (the admin token gets a 403). One Google
    account of the user's; without `account`, the default one."""
    return await calendar.get_credentials(ctx, user_id, calendar.ACTIVE, account)


@router.put(
    "/{user_id}/calendar-credentials",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def put_calendar_credentials(
    ctx: UnitOfWorkDep,
    user_id: uuid.UUID,
    data: CalendarCredentialsPut,
    account: AccountQuery = None,
) -> object:
    """Stores `account`'s tokens (without it: the default account's; a user's first account
    becomes the default)."""
    return await calendar.put_credentials(ctx, user_id, data, calendar.ACTIVE, account)


@router.delete(
    "/{user_id}/calendar-credentials", status_code=204, dependencies=[calendar_credentials_only]
)
async def delete_calendar_credentials(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, account: AccountQuery = None
) -> None:
    """Forgets one account (without `account`: the default one, and the earliest connected
    of the others becomes the default)."""
    await calendar.delete_credentials(ctx, user_id, calendar.ACTIVE, account)


@router.get(
    "/{user_id}/calendar-accounts",
    response_model=list[CalendarCredentialsPublic],
    dependencies=[calendar_credentials_only],
)
async def list_calendar_accounts(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    """Every connected Google account of the user's, decrypted, the default first."""
    return await calendar.list_accounts(ctx, user_id)


@router.put(
    "/{user_id}/calendar-accounts/default",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def set_default_calendar_account(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: CalendarDefaultAccountPut
) -> object:
    """New events go to this connected account from now on (404 when it is not connected)."""
    return await calendar.set_default_account(ctx, user_id, data.account)


# A consented Google account waits here, unusable, until the Telegram user confirms it.


@router.get(
    "/{user_id}/calendar-credentials/pending",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def get_pending_calendar_credentials(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    return await calendar.get_credentials(ctx, user_id, calendar.PENDING)


@router.put(
    "/{user_id}/calendar-credentials/pending",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def put_pending_calendar_credentials(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: CalendarCredentialsPut
) -> object:
    return await calendar.put_credentials(ctx, user_id, data, calendar.PENDING)


@router.delete(
    "/{user_id}/calendar-credentials/pending",
    status_code=204,
    dependencies=[calendar_credentials_only],
)
async def delete_pending_calendar_credentials(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> None:
    await calendar.delete_credentials(ctx, user_id, calendar.PENDING)


@router.post(
    "/{user_id}/calendar-credentials/pending/confirm",
    response_model=CalendarCredentialsPublic,
    dependencies=[calendar_credentials_only],
)
async def confirm_pending_calendar_credentials(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: CalendarPendingConfirm
) -> object:
    """The owner's yes: the pending connection becomes the active one (404 when none or
    expired)."""
    return await calendar.confirm_pending(ctx, user_id, data)


@router.post(
    "/calendar-credentials/pending/expire",
    response_model=list[CalendarCredentialsPublic],
    dependencies=[calendar_credentials_only],
)
async def expire_pending_calendar_credentials(
    ctx: UnitOfWorkDep, data: CalendarPendingConfirm
) -> object:
    """Drops pending connections older than `max_age_seconds` and answers them (to revoke)."""
    return await calendar.expire_pending(ctx, data)
