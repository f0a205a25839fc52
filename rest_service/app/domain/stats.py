"""Usage statistics over a window of days, computed in Postgres."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Date, case, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text as SAText
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.wire import MessageRole
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.cron import CronJobAcknowledgement, CronJobRun
from rest_service.app.models.invocation import ToolInvocation
from rest_service.app.models.stats import (
    ActiveUsers,
    DayCount,
    ModelStats,
    ReminderStats,
    Stats,
    ToolStats,
)
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.user import User


async def collect(ctx: UnitOfWork, days: int) -> Stats:
    now = utcnow()
    since = now - timedelta(days=days)
    return Stats(
        since=since,
        days=days,
        messages_per_day=await _messages_per_day(ctx, since),
        active_users=await _active_users(ctx, now, since),
        tool_calls=await _tool_calls(ctx, since),
        models=await _models(ctx, since),
        reminders=await _reminders(ctx, since),
    )


async def _messages_per_day(ctx: UnitOfWork, since: datetime) -> list[DayCount]:
    day = cast(func.timezone("UTC", col(ChatMessage.created_at)), Date).label("day")
    rows = await ctx.session.execute(
        select(day, func.count())
        .where(col(ChatMessage.created_at) >= since)
        .group_by(day)
        .order_by(day)
    )
    return [DayCount(day=d, messages=n) for d, n in rows.all()]


async def _active_users(ctx: UnitOfWork, now: datetime, since: datetime) -> ActiveUsers:
    who = func.coalesce(cast(col(ChatMessage.user_id), SAText), col(ChatMessage.conversation_key))

    def active_since(start: datetime) -> ColumnElement[int]:
        return func.count(distinct(case((col(ChatMessage.created_at) >= start, who))))

    row = (
        await ctx.session.execute(
            select(
                active_since(now - timedelta(days=1)),
                active_since(now - timedelta(days=7)),
                active_since(since),
            ).where(
                col(ChatMessage.role) == MessageRole.user,
                col(ChatMessage.created_at) >= min(since, now - timedelta(days=7)),
            )
        )
    ).one()
    total = await ctx.session.scalar(select(func.count()).select_from(User))
    return ActiveUsers(last_day=row[0], last_week=row[1], period=row[2], users_total=total or 0)


async def _tool_calls(ctx: UnitOfWork, since: datetime) -> list[ToolStats]:
    failures = func.count().filter(~col(ToolInvocation.ok))
    rows = await ctx.session.execute(
        select(
            col(ToolInvocation.tool_name),
            func.count(),
            failures,
            func.avg(col(ToolInvocation.duration_ms)),
        )
        .where(col(ToolInvocation.created_at) >= since)
        .group_by(col(ToolInvocation.tool_name))
        .order_by(col(ToolInvocation.tool_name))
    )
    return [
        ToolStats(
            tool_name=name,
            calls=calls,
            failures=failed,
            failure_rate=round(failed / calls, 4) if calls else 0.0,
            avg_duration_ms=float(avg) if avg is not None else None,
        )
        for name, calls, failed, avg in rows.all()
    ]


async def _models(ctx: UnitOfWork, since: datetime) -> list[ModelStats]:
    latency = col(ChatMessage.latency_ms)
    rows = await ctx.session.execute(
        select(
            col(ChatMessage.model),
            func.count(),
            func.coalesce(func.sum(col(ChatMessage.tokens_in)), 0),
            func.coalesce(func.sum(col(ChatMessage.tokens_out)), 0),
            func.avg(latency),
            func.percentile_cont(0.95).within_group(latency),
        )
        .where(
            col(ChatMessage.created_at) >= since,
            col(ChatMessage.model).is_not(None),
            col(ChatMessage.role) == MessageRole.assistant,
        )
        .group_by(col(ChatMessage.model))
        .order_by(col(ChatMessage.model))
    )
    return [
        ModelStats(
            model=model,
            answers=answers,
            tokens_in=int(t_in),
            tokens_out=int(t_out),
            avg_latency_ms=float(avg) if avg is not None else None,
            p95_latency_ms=float(p95) if p95 is not None else None,
        )
        for model, answers, t_in, t_out, avg, p95 in rows.all()
    ]


async def _reminders(ctx: UnitOfWork, since: datetime) -> ReminderStats:
    rows = await ctx.session.execute(
        select(col(CronJobRun.outcome), func.count())
        .where(col(CronJobRun.scheduled_for) >= since, col(CronJobRun.repeat) == 0)
        .group_by(col(CronJobRun.outcome))
    )
    urgent = await urgent_figures(ctx.session, since)
    return ReminderStats(**{str(outcome): n for outcome, n in rows.all()}, **urgent)


async def urgent_figures(
    session: AsyncSession, since: datetime, until: datetime | None = None
) -> dict[str, int]:
    """Urgent reminders from `since` (up to `until`): repeats sent, fires acknowledged with
    Done, and the repeats those needed in all."""
    run_window = [col(CronJobRun.scheduled_for) >= since]
    ack_window = [col(CronJobAcknowledgement.created_at) >= since]
    if until is not None:
        run_window.append(col(CronJobRun.scheduled_for) < until)
        ack_window.append(col(CronJobAcknowledgement.created_at) < until)
    repeats = await session.scalar(
        select(func.count()).where(col(CronJobRun.repeat) > 0, *run_window)
    )
    acknowledged, needed = (
        await session.execute(
            select(
                func.count(), func.coalesce(func.sum(col(CronJobAcknowledgement.repeats)), 0)
            ).where(*ack_window)
        )
    ).one()
    return {
        "urgent_repeats": repeats or 0,
        "urgent_acknowledged": acknowledged,
        "urgent_repeats_needed": int(needed),
    }
