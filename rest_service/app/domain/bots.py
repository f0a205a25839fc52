"""Bots: rows an admin manages, each speaking as one assistant. The token is encrypted at
rest and shown masked; tg_bot reads it one bot at a time. Every committed write is said on
`bots:updated` (tg_bot starts, restarts or stops the bot) and bumps the config version (the
assistant learns which assistant answers the bot's conversations)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col

from common.infrastructure.crypto import mask_secret
from common.infrastructure.errors import invalid
from common.infrastructure.queue_messages import BotChanged
from common.infrastructure.wire import BotChannel
from rest_service.app.domain import live_config
from rest_service.app.domain.common import apply_update, get_or_404, non_null, paged
from rest_service.app.domain.cron_jobs import announce_bot_jobs_deleted
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.bot import Bot, BotCreate, BotPublic, BotUpdate, telegram_bot_id

KIND = "bot"


def public(bot: Bot) -> BotPublic:
    return BotPublic.model_validate(bot.model_dump())


async def list_bots(
    ctx: UnitOfWork, page: Page, active: bool | None = None
) -> tuple[list[BotPublic], int]:
    stmt = select(Bot).order_by(col(Bot.name))
    if active is not None:
        stmt = stmt.where(col(Bot.is_active) == active)
    rows, total = await paged(ctx.session, stmt, page)
    return [public(b) for b in rows], total


async def get_bot(ctx: UnitOfWork, bot_id: uuid.UUID) -> Bot:
    return await get_or_404(ctx.session, Bot, bot_id, KIND)


async def create_bot(ctx: UnitOfWork, data: BotCreate) -> Bot:
    await _assistant_exists(ctx, data.assistant_id)
    bot = Bot.model_validate(data.model_dump(exclude={"token"}))
    _set_token(ctx, bot, data.token)
    ctx.session.add(bot)
    await _changed(ctx, bot.id, "updated")
    return bot


async def update_bot(ctx: UnitOfWork, bot_id: uuid.UUID, data: BotUpdate) -> Bot:
    """A new token of a Telegram bot is checked as on create and may name another bot id."""
    bot = await get_bot(ctx, bot_id)
    changes = non_null(Bot, data.model_dump(exclude_unset=True))
    if "assistant_id" in changes:
        await _assistant_exists(ctx, changes["assistant_id"])
    if "token" in changes:
        token = changes.pop("token")
        if token is None:
            raise invalid("token", "must not be null (a bot cannot run without one)")
        _set_token(ctx, bot, token)
    apply_update(bot, changes)
    await _changed(ctx, bot.id, "updated")
    return bot


async def delete_bot(ctx: UnitOfWork, bot_id: uuid.UUID) -> None:
    """Its conversations' messages stay in the history."""
    await delete_row(ctx, await get_bot(ctx, bot_id))


async def delete_row(ctx: UnitOfWork, bot: Bot) -> None:
    await announce_bot_jobs_deleted(ctx, bot.id)
    await ctx.session.delete(bot)
    await _changed(ctx, bot.id, "deleted")


async def bots_of_assistant(ctx: UnitOfWork, assistant_id: uuid.UUID) -> list[Bot]:
    """The bots speaking as an assistant (a delete of it refuses, or takes them along)."""
    stmt = select(Bot).where(col(Bot.assistant_id) == assistant_id)
    return list((await ctx.session.scalars(stmt)).all())


async def learn_username(ctx: UnitOfWork, bot_id: uuid.UUID, username: str) -> Bot:
    """tg_bot's getMe for the bot's token. Not said on `bots:updated` (nothing runs on it,
    and tg_bot, which sent it, would only read it back)."""
    bot = await get_bot(ctx, bot_id)
    bot.telegram_username = username
    return bot


async def decrypted_token(ctx: UnitOfWork, bot_id: uuid.UUID) -> str:
    bot = await get_bot(ctx, bot_id)
    if bot.token_encrypted is None:
        raise invalid("token", "the bot has no token")
    return ctx.box.decrypt(bot.token_encrypted)


def _set_token(ctx: UnitOfWork, bot: Bot, token: str) -> None:
    if bot.channel == BotChannel.telegram:
        try:
            bot.telegram_bot_id = telegram_bot_id(token)
        except ValueError as exc:
            raise invalid("token", str(exc)) from exc
        # A new token may be another bot: its username is learnt again.
        bot.telegram_username = None
    bot.token_encrypted = ctx.box.encrypt(token)
    bot.token_masked = mask_secret(token)


async def _assistant_exists(ctx: UnitOfWork, assistant_id: uuid.UUID) -> None:
    if await ctx.session.get(Assistant, assistant_id) is None:
        raise invalid("assistant_id", f"no assistant {assistant_id}")


async def _changed(ctx: UnitOfWork, bot_id: uuid.UUID, change: str) -> None:
    """A 409 on a taken name or bot id, the new config version, then (after the commit)
    the word to tg_bot."""
    await live_config.config_changed(ctx)
    message = BotChanged.model_validate({"bot_id": bot_id, "change": change})

    async def announce(ctx: UnitOfWork) -> None:
        await ctx.cache.publish_bots(message.model_dump_json())

    ctx.after_commit(f"bot:{bot_id}", announce)
