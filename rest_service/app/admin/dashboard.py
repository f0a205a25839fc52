"""The admin's landing page: what an operator looks at first. Every figure is read when the
page (or its self-refreshing panel) is asked for: services' health over HTTP, queues and
the assistant's LLM counts (`common/features/llm_stats.py`) from Redis, the rest from Postgres. A
source that does not answer is shown as such, never as 0. "Today" is the day in
ADMIN_TIMEZONE, from its 00:00."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy import and_, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text as SAText
from sqlmodel import col
from starlette.applications import Starlette

from common.features.llm_stats import LlmCounts, LlmStats
from common.infrastructure.clock import utcnow
from common.infrastructure.http_client import (
    UNANSWERED,
    Answer,
    client_session,
    failure_name,
    send,
)
from common.infrastructure.queue import dead_entry_summary
from common.infrastructure.redis_keys import Names
from common.infrastructure.streams import STREAMS, pending_count
from common.infrastructure.wire import MessageRole, RunOutcome
from rest_service.app.domain.stats import urgent_figures
from rest_service.app.models.config_state import CONFIG_STATE_ID, ConfigState
from rest_service.app.models.cron import CronJobRun
from rest_service.app.models.invocation import ToolInvocation
from rest_service.app.models.thread import ChatMessage
from rest_service.app.settings import Settings
from rest_service.app.state import STATE

#: A service that does not answer within this is shown as down (the page must not hang).
HEALTH_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 2.0
LAST_ERRORS = 8


@dataclass
class ServiceHealth:
    service: str
    url: str
    #: "ready", "not ready" (answered 503 or named failing checks), "down" (no answer).
    state: str
    probe: str = ""
    detail: str = ""


@dataclass
class QueueFigures:
    stream: str
    depth: int | None = None
    pending: int | None = None
    dead: int | None = None


@dataclass
class LastError:
    when: datetime
    source: str
    what: str


@dataclass
class Dashboard:
    now: datetime
    #: The start of today in ADMIN_TIMEZONE, which every "today" figure counts from.
    day_start: datetime
    services: list[ServiceHealth]
    queues: list[QueueFigures]
    redis_error: str | None
    config_version: int
    config_changed_at: datetime | None
    messages_today: int
    active_users_today: int
    tool_calls_today: int
    tool_failures_today: int
    reminders_today: dict[str, int]
    #: Urgent reminders today: repeats sent, fires acknowledged, repeats those needed.
    urgent_today: dict[str, int]
    reminder_lateness_avg_s: float | None
    reminder_lateness_max_s: float | None
    #: The assistant's LLM requests today (`common/features/llm_stats.py`); None: Redis did not
    #: answer.
    llm_today: LlmCounts | None
    last_errors: list[LastError] = field(default_factory=list)


def service_urls(settings: Settings) -> dict[str, str]:
    return {
        "rest_service": settings.rest_service_url,
        "google_calendar_service": settings.google_calendar_service_url,
        "assistant": settings.assistant_url,
        "cron_service": settings.cron_service_url,
        "tg_bot": settings.tg_bot_url,
        "channels": settings.channels_url,
    }


async def probe(client: aiohttp.ClientSession, service: str, base_url: str) -> ServiceHealth:
    """`/readyz`; a service without it (404) is asked its `/health`."""
    base = base_url.rstrip("/")
    try:
        response = await send(client, "GET", f"{base}/readyz", timeout=HEALTH_TIMEOUT_S)
        path = "/readyz"
        if response.status == 404:
            response = await send(client, "GET", f"{base}/health", timeout=HEALTH_TIMEOUT_S)
            path = "/health"
    except UNANSWERED as exc:
        return ServiceHealth(service, base, "down", detail=failure_name(exc))
    if response.status == 200:
        return ServiceHealth(service, base, "ready", path)
    return ServiceHealth(service, base, "not ready", path, _failing(response))


def _failing(response: Answer) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status}"
    failing = body.get("failing") if isinstance(body, dict) else None
    if failing:
        return f"HTTP {response.status}: failing {', '.join(map(str, failing))}"
    return f"HTTP {response.status}"


async def services_health(settings: Settings) -> list[ServiceHealth]:
    urls = service_urls(settings)
    async with client_session(HEALTH_TIMEOUT_S) as client:
        return list(await asyncio.gather(*(probe(client, s, u) for s, u in urls.items())))


async def queue_figures(
    redis: aioredis.Redis, names: Names
) -> tuple[list[QueueFigures], list[LastError], str | None]:
    """Depth, pending and dead letters per stream (each read touches one key: Cluster-safe),
    and the newest dead letters as errors."""
    rows: list[QueueFigures] = []
    errors: list[LastError] = []
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            for spec in STREAMS:
                row = QueueFigures(spec.stream)
                if spec.entries:
                    row.depth = int(await redis.xlen(names.stream(spec.stream)))
                    if spec.group:
                        row.pending = await pending_count(
                            redis, names.stream(spec.stream), spec.group
                        )
                if spec.dead_letters:
                    dead_key = names.dead(spec.stream)
                    row.dead = int(await redis.xlen(dead_key))
                    newest: list[Any] = await redis.xrevrange(dead_key, count=LAST_ERRORS) or []
                    errors += [_dead_error(spec.stream, i, f) for i, f in newest]
                rows.append(row)
    except (aioredis.RedisError, OSError, TimeoutError) as exc:
        return rows, errors, f"{type(exc).__name__}: {exc}"
    return rows, errors, None


def _dead_error(stream: str, entry_id: bytes | str, fields: dict[Any, Any]) -> LastError:
    text_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    millis = int(text_id.split("-", 1)[0])
    try:
        reason = dead_entry_summary(fields).get("error", "")
    except (ValueError, TypeError, RecursionError):
        reason = ""
    return LastError(
        datetime.fromtimestamp(millis / 1000, UTC),
        f"dead letter on {stream}",
        f"{text_id}: {reason or 'no reason given'}",
    )


async def llm_today(
    redis: aioredis.Redis, names: Names, start: datetime, end: datetime
) -> LlmCounts | None:
    """The assistant's LLM counts between `start` and `end`, as every replica recorded them
    in Redis; None when Redis does not answer."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            return await LlmStats(redis, names).read(start, end)
    except (aioredis.RedisError, OSError, TimeoutError):
        return None


def _within(column: Any, since: datetime, until: datetime) -> Any:
    return and_(column >= since, column < until)


async def database_figures(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[str, Any]:
    """Today's figures: rows from `since` up to `until` (the admin's day)."""
    state = await session.get(ConfigState, CONFIG_STATE_ID)
    messages = await session.scalar(
        select(func.count()).where(_within(col(ChatMessage.created_at), since, until))
    )
    # group messages without a known user count once per group, as in the analytics
    who = func.coalesce(cast(col(ChatMessage.user_id), SAText), col(ChatMessage.conversation_key))
    active = await session.scalar(
        select(func.count(distinct(who))).where(
            _within(col(ChatMessage.created_at), since, until),
            col(ChatMessage.role) == MessageRole.user,
        )
    )
    tools = (
        await session.execute(
            select(func.count(), func.count().filter(~col(ToolInvocation.ok))).where(
                _within(col(ToolInvocation.created_at), since, until)
            )
        )
    ).one()
    outcomes = await session.execute(
        select(col(CronJobRun.outcome), func.count())
        .where(_within(col(CronJobRun.scheduled_for), since, until), col(CronJobRun.repeat) == 0)
        .group_by(col(CronJobRun.outcome))
    )
    late = func.extract("epoch", col(CronJobRun.delivered_at) - col(CronJobRun.scheduled_for))
    lateness = (
        await session.execute(
            select(func.avg(late), func.max(late)).where(
                _within(col(CronJobRun.scheduled_for), since, until),
                col(CronJobRun.delivered_at).is_not(None),
            )
        )
    ).one()
    return {
        "config_version": state.version if state else 0,
        "config_changed_at": state.updated_at if state else None,
        "messages_today": messages or 0,
        "active_users_today": active or 0,
        "tool_calls_today": tools[0] or 0,
        "tool_failures_today": tools[1] or 0,
        "reminders_today": {
            **{o.value: 0 for o in RunOutcome},
            **{str(o): int(n) for o, n in outcomes.all()},
        },
        "urgent_today": await urgent_figures(session, since, until),
        "reminder_lateness_avg_s": float(lateness[0]) if lateness[0] is not None else None,
        "reminder_lateness_max_s": float(lateness[1]) if lateness[1] is not None else None,
    }


async def database_errors(session: AsyncSession) -> list[LastError]:
    """The newest failed tool calls and failed reminders, with their error text."""
    tools = await session.execute(
        select(
            col(ToolInvocation.created_at), col(ToolInvocation.tool_name), col(ToolInvocation.error)
        )
        .where(~col(ToolInvocation.ok))
        .order_by(col(ToolInvocation.created_at).desc())
        .limit(LAST_ERRORS)
    )
    runs = await session.execute(
        select(col(CronJobRun.created_at), col(CronJobRun.error))
        .where(col(CronJobRun.outcome) == RunOutcome.failed)
        .order_by(col(CronJobRun.created_at).desc())
        .limit(LAST_ERRORS)
    )
    found = [LastError(when, f"tool {name}", error or "failed") for when, name, error in tools]
    found += [LastError(when, "reminder", error or "failed") for when, error in runs]
    return found


def start_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """00:00 today in `zone` (the admin's), as a UTC time."""
    local = now.astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return midnight.astimezone(UTC)


def end_of_day(start: datetime, zone: ZoneInfo) -> datetime:
    """00:00 the day after `start` in `zone`: a day may be 23 or 25 hours long."""
    local = start.astimezone(zone)
    following = (local + timedelta(days=1, hours=12)).date()  # the next date, whatever DST does
    return datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)


async def collect(
    settings: Settings,
    session: AsyncSession,
    redis: aioredis.Redis,
    names: Names,
    now: datetime | None = None,
) -> Dashboard:
    now = now or utcnow()
    zone = ZoneInfo(settings.admin_timezone)
    day_start = start_of_day(now, zone)
    day_end = end_of_day(day_start, zone)
    health, llm, queues = await asyncio.gather(
        services_health(settings),
        llm_today(redis, names, day_start, day_end),
        queue_figures(redis, names),
    )
    figures = await database_figures(session, day_start, day_end)
    errors = queues[1] + await database_errors(session)
    errors.sort(key=lambda e: e.when, reverse=True)
    return Dashboard(
        now=now,
        day_start=day_start,
        services=health,
        queues=queues[0],
        redis_error=queues[2],
        llm_today=llm,
        last_errors=errors[:LAST_ERRORS],
        **figures,
    )


async def for_app(app: Starlette) -> Dashboard:
    """The dashboard of the running app (its settings, database and Redis)."""
    state = STATE.of_app(app)
    async with state.sessions() as session:
        return await collect(
            state.settings, session, state.redis, Names(state.settings.redis_key_prefix)
        )


def since_label(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 120 else str(timedelta(seconds=round(seconds)))
