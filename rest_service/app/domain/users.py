"""Telegram users: get-or-create by Telegram id, settings, and `/forget`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, or_, select
from sqlmodel import col

from common.infrastructure.errors import not_found
from common.infrastructure.queue_messages import UserChanged
from rest_service.app.domain import sql, thread_summaries
from rest_service.app.domain.common import apply_update, count, get_or_404, non_null, paged
from rest_service.app.domain.cron_jobs import announce_cron
from rest_service.app.domain.llm_models import require_model
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork, autocommit
from rest_service.app.domain.user_changes import announce_user
from rest_service.app.domain.validation import check_timezone
from rest_service.app.models.calendar import CalendarCredential
from rest_service.app.models.contacts import Contact
from rest_service.app.models.cron import CronJob
from rest_service.app.models.invocation import ToolInvocation
from rest_service.app.models.leads import Lead
from rest_service.app.models.task import Task
from rest_service.app.models.thread import ChatMessage, UserAssistantThread
from rest_service.app.models.thread_summary import ThreadSummary
from rest_service.app.models.user import User, UserCreate, UserUpdate

KIND = "user"


_BY_TELEGRAM_SQL = f"SELECT {sql.USER_COLUMNS} FROM users WHERE telegram_id = $1"
_INSERT_SQL = (
    "INSERT INTO users (id, telegram_id, username, first_name, language, timezone, "
    "preferred_model, blocked, voice_replies, event_alert_minutes, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, false, false, 0, clock_timestamp(), clock_timestamp()) "
    f"ON CONFLICT (telegram_id) DO NOTHING RETURNING {sql.USER_COLUMNS}"
)


async def get_or_create_user(ctx: UnitOfWork, data: UserCreate) -> tuple[dict[str, Any], bool]:
    """One row per Telegram id even under concurrent calls (INSERT … ON CONFLICT), as a
    `UserPublic` row. tg_bot asks for every message: a known user costs one SELECT (in
    autocommit, plain SQL); a new one an INSERT; one made concurrently a SELECT again."""
    await autocommit(ctx)
    await check_settings(ctx, data.model_dump(exclude_unset=True))
    conn = await ctx.session.connection()
    found = await sql.one(conn, _BY_TELEGRAM_SQL, (data.telegram_id,))
    if found is not None:
        return found, False
    values = (data.telegram_id, data.username, data.first_name, data.language, data.timezone)
    made = await sql.one(conn, _INSERT_SQL, (uuid.uuid4(), *values, data.preferred_model))
    if made is not None:
        return made, True
    found = await sql.one(conn, _BY_TELEGRAM_SQL, (data.telegram_id,))
    assert found is not None
    return found, False


async def list_users(
    ctx: UnitOfWork,
    page: Page,
    blocked: bool | None,
    event_alerts: bool | None = None,
) -> tuple[list[User], int]:
    stmt = select(User).order_by(col(User.created_at), col(User.id))
    if event_alerts is not None:
        alerting = col(User.event_alert_minutes) > 0
        stmt = stmt.where(alerting if event_alerts else ~alerting)
    if blocked is not None:
        stmt = stmt.where(col(User.blocked) == blocked)
    return await paged(ctx.session, stmt, page)


async def get_user(ctx: UnitOfWork, user_id: uuid.UUID) -> User:
    return await get_or_404(ctx.session, User, user_id, KIND)


async def get_by_telegram(ctx: UnitOfWork, telegram_id: int) -> User:
    user = await ctx.session.scalar(select(User).where(col(User.telegram_id) == telegram_id))
    if user is None:
        raise not_found("user with Telegram id", telegram_id)
    return user


async def update_user(ctx: UnitOfWork, user_id: uuid.UUID, data: UserUpdate) -> User:
    user = await get_user(ctx, user_id)
    changes = non_null(User, data.model_dump(exclude_unset=True))
    await check_settings(ctx, changes)
    apply_update(user, changes)
    await ctx.session.flush()
    if changes:
        announce_user(
            ctx, UserChanged(user_id=user.id, telegram_id=user.telegram_id, change="updated")
        )
    return user


async def forget_user(ctx: UnitOfWork, user_id: uuid.UUID) -> None:
    """`/forget`: the user's private conversations (with every bot), their words in groups,
    their tasks, jobs, runs, calendar credentials, tool calls, leads and contacts with every
    business, then the user."""
    user = await get_user(ctx, user_id)
    forgotten = UserChanged(user_id=user_id, telegram_id=user.telegram_id, change="deleted")
    key = str(user_id)
    # The private conversations with a bot (`bot:<id>:<user>`), with a named assistant
    # (`assistant:<name>:<user>`), or both (`bot:<id>:assistant:<name>:<user>`).
    with_bots, with_assistants = f"bot:%:{key}", f"assistant:%:{key}"
    had_jobs = await count(ctx.session, col(CronJob.user_id) == user_id)
    summary_key = col(ThreadSummary.conversation_key)
    await thread_summaries.forget_summaries(
        ctx,
        user_id,
        or_(summary_key == key, summary_key.like(with_bots), summary_key.like(with_assistants)),
    )
    await ctx.session.execute(
        delete(ChatMessage).where(
            or_(
                col(ChatMessage.conversation_key) == key,
                col(ChatMessage.conversation_key).like(with_bots),
                col(ChatMessage.conversation_key).like(with_assistants),
                col(ChatMessage.user_id) == user_id,
            )
        )
    )
    await ctx.session.execute(
        delete(UserAssistantThread).where(
            or_(
                col(UserAssistantThread.user_id) == key,
                col(UserAssistantThread.user_id).like(with_bots),
                col(UserAssistantThread.user_id).like(with_assistants),
            )
        )
    )
    await ctx.session.execute(delete(Task).where(col(Task.user_id) == user_id))
    await ctx.session.execute(delete(CronJob).where(col(CronJob.user_id) == user_id))
    await ctx.session.execute(
        delete(CalendarCredential).where(col(CalendarCredential.user_id) == user_id)
    )
    await ctx.session.execute(delete(ToolInvocation).where(col(ToolInvocation.user_id) == user_id))
    await ctx.session.execute(delete(Lead).where(col(Lead.user_id) == user_id))
    await ctx.session.execute(delete(Contact).where(col(Contact.user_id) == user_id))
    await ctx.session.execute(delete(User).where(col(User.id) == user_id))
    if had_jobs:
        ctx.after_commit(f"cron:user:{key}", announce_cron({"user_id": key, "change": "deleted"}))
    announce_user(ctx, forgotten)


async def check_settings(ctx: UnitOfWork, changes: dict[str, object]) -> None:
    timezone = changes.get("timezone")
    if isinstance(timezone, str):
        check_timezone(timezone)
    model = changes.get("preferred_model")
    if isinstance(model, str):
        await require_model(ctx, model, "preferred_model")
