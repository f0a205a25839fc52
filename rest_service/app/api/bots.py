"""/api/bots: the bots an admin runs, each speaking as one assistant."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token, bot_runners_only, bot_tokens_only
from rest_service.app.domain import bots
from rest_service.app.models.bot import BotCreate, BotPublic, BotToken, BotUpdate, BotUsername

router = APIRouter(tags=["bots"], responses=ERRORS)


@router.get("/api/bots/", response_model=list[BotPublic], dependencies=[any_token])
async def list_bots(
    ctx: UnitOfWorkDep, page: PageDep, response: Response, active: bool | None = None
) -> object:
    """By name; `active=true`: the bots tg_bot runs. No token in it (only `token_masked`)."""
    rows, total = await bots.list_bots(ctx, page, active)
    set_total(response, total)
    return rows


@router.post("/api/bots/", response_model=BotPublic, status_code=201, dependencies=[admin_only])
async def create_bot(ctx: UnitOfWorkDep, data: BotCreate) -> object:
    """`token` is write-only: stored encrypted, shown as `token_masked`. A Telegram token
    (`<bot id>:<secret>`) gives `telegram_bot_id`; one bot id belongs to one row (409)."""
    return bots.public(await bots.create_bot(ctx, data))


@router.get("/api/bots/{bot_id}", response_model=BotPublic, dependencies=[any_token])
async def get_bot(ctx: UnitOfWorkDep, bot_id: uuid.UUID) -> object:
    return bots.public(await bots.get_bot(ctx, bot_id))


@router.put("/api/bots/{bot_id}", response_model=BotPublic, dependencies=[admin_only])
async def update_bot(ctx: UnitOfWorkDep, bot_id: uuid.UUID, data: BotUpdate) -> object:
    """`token`: a new one replaces the old one; left out keeps it. The channel stays."""
    return bots.public(await bots.update_bot(ctx, bot_id, data))


@router.delete("/api/bots/{bot_id}", status_code=204, dependencies=[admin_only])
async def delete_bot(ctx: UnitOfWorkDep, bot_id: uuid.UUID) -> None:
    """Its conversations' messages stay in the history."""
    await bots.delete_bot(ctx, bot_id)


@router.get("/api/bots/{bot_id}/token", response_model=BotToken, dependencies=[bot_tokens_only])
async def get_bot_token(ctx: UnitOfWorkDep, bot_id: uuid.UUID) -> object:
    """The decrypted token, for tg_bot: a service token with the right only (admin: 403)."""
    return BotToken(token=await bots.decrypted_token(ctx, bot_id))


@router.put(
    "/api/bots/{bot_id}/telegram-username",
    response_model=BotPublic,
    dependencies=[bot_runners_only],
)
async def learn_telegram_username(
    ctx: UnitOfWorkDep, bot_id: uuid.UUID, data: BotUsername
) -> object:
    """The @username getMe gives for the bot's token, from tg_bot (the `bot_tokens` right:
    whoever runs the bots); the admin sets it with PUT /api/bots/{id}."""
    return bots.public(await bots.learn_username(ctx, bot_id, data.telegram_username))
