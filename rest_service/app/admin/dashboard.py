"""The admin's landing page: what an operator looks at first. Every figure is read when the
page (or its self-refreshing panel) is asked for: services' health over HTTP, queues from
Redis, the rest from Postgres. A source that does not answer is shown as such, never as 0."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text as SAText
from sqlmodel import col

from common.names import (
    ASSISTANT_GROUP,
    DRAFTS,
    TELEGRAM_UPDATES,
    TG_BOT_GROUP,
    TO_SECRETARY,
    TO_TELEGRAM,
    Names,
)
from common.queue import dead_entry_summary
from common.wire import MessageRole, RunOutcome
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


@dataclass(frozen=True)
class QueueSpec:
    """A stream (logical name) and what the dashboard reads of it."""

    stream: str
    group: str | None
    #: False for tg_bot:updates, which only ever has dead letters.
    entries: bool = True
    dead_letters: bool = True


QUEUES = (
    QueueSpec(TO_SECRETARY, ASSISTANT_GROUP),
    QueueSpec(TO_TELEGRAM, TG_BOT_GROUP),
    QueueSpec(TELEGRAM_UPDATES, None, entries=False),
    QueueSpec(DRAFTS, TG_BOT_GROUP, dead_letters=False),
)


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
    reminder_lateness_avg_s: float | None
    reminder_lateness_max_s: float | None
    #: From the assistant's /metrics: requests per outcome since it started; None: no answer.
    llm_requests: dict[str, float] | None
    llm_turn_failures: float | None
    last_errors: list[LastError] = field(default_factory=list)


def service_urls(settings: Settings) -> dict[str, str]:
    return {
        "rest_service": settings.rest_service_url,
        "google_calendar_service": settings.google_calendar_service_url,
        "assistant": settings.assistant_url,
        "cron_service": settings.cron_service_url,
        "tg_bot": settings.tg_bot_url,
    }


async def probe(client: httpx.AsyncClient, service: str, base_url: str) -> ServiceHealth:
    """`/readyz`; a service without it (404) is asked its `/health`."""
    base = base_url.rstrip("/")
    try:
        response = await client.get(f"{base}/readyz")
        path = "/readyz"
        if response.status_code == 404:
            response = await client.get(f"{base}/health")
            path = "/health"
    except httpx.HTTPError as exc:
        return ServiceHealth(service, base, "down", detail=type(exc).__name__)
    if response.status_code == 200:
        return ServiceHealth(service, base, "ready", path)
    return ServiceHealth(service, base, "not ready", path, _failing(response))


def _failing(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    failing = body.get("failing") if isinstance(body, dict) else None
    if failing:
        return f"HTTP {response.status_code}: failing {', '.join(map(str, failing))}"
    return f"HTTP {response.status_code}"


async def services_health(settings: Settings) -> list[ServiceHealth]:
    urls = service_urls(settings)
    async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:
        return list(await asyncio.gather(*(probe(client, s, u) for s, u in urls.items())))


async def _pending(redis: aioredis.Redis, key: str, group: str) -> int:
    try:
        summary = await redis.xpending(key, group)
    except aioredis.ResponseError as exc:
        if "NOGROUP" in str(exc):  # no consumer has made its group yet
            return 0
        raise
    return int(summary["pending"])


async def queue_figures(
    redis: aioredis.Redis, names: Names
) -> tuple[list[QueueFigures], list[LastError], str | None]:
    """Depth, pending and dead letters per stream (each read touches one key: Cluster-safe),
    and the newest dead letters as errors."""
    rows: list[QueueFigures] = []
    errors: list[LastError] = []
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            for spec in QUEUES:
                row = QueueFigures(spec.stream)
                if spec.entries:
                    row.depth = int(await redis.xlen(names.stream(spec.stream)))
                    if spec.group:
                        row.pending = await _pending(redis, names.stream(spec.stream), spec.group)
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


async def assistant_llm(settings: Settings) -> tuple[dict[str, float] | None, float | None]:
    """LLM requests by outcome and failed turns, as counted by the assistant since it started
    (they are metrics, not stored rows)."""
    try:
        async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:
            response = await client.get(f"{settings.assistant_url.rstrip('/')}/metrics")
        response.raise_for_status()
    except httpx.HTTPError:
        return None, None
    outcomes: dict[str, float] = {}
    failures = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "smart_assistant_llm_requests_total":
                outcome = sample.labels.get("outcome", "")
                outcomes[outcome] = outcomes.get(outcome, 0.0) + sample.value
            elif sample.name == "smart_assistant_assistant_turn_failures_total":
                failures += sample.value
    return outcomes, failures


async def database_figures(session: AsyncSession, since: datetime) -> dict[str, Any]:
    state = await session.get(ConfigState, CONFIG_STATE_ID)
    messages = await session.scalar(
        select(func.count()).where(col(ChatMessage.created_at) >= since)
    )
    # group messages without a known user count once per group, as in the analytics
    who = func.coalesce(cast(col(ChatMessage.user_id), SAText), col(ChatMessage.conversation_key))
    active = await session.scalar(
        select(func.count(distinct(who))).where(
            col(ChatMessage.created_at) >= since, col(ChatMessage.role) == MessageRole.user
        )
    )
    tools = (
        await session.execute(
            select(func.count(), func.count().filter(~col(ToolInvocation.ok))).where(
                col(ToolInvocation.created_at) >= since
            )
        )
    ).one()
    outcomes = await session.execute(
        select(col(CronJobRun.outcome), func.count())
        .where(col(CronJobRun.scheduled_for) >= since)
        .group_by(col(CronJobRun.outcome))
    )
    late = func.extract("epoch", col(CronJobRun.delivered_at) - col(CronJobRun.scheduled_for))
    lateness = (
        await session.execute(
            select(func.avg(late), func.max(late)).where(
                col(CronJobRun.scheduled_for) >= since, col(CronJobRun.delivered_at).is_not(None)
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


def start_of_day(now: datetime) -> datetime:
    """Today, in UTC (the time zone the admin's times are shown in)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def collect(
    settings: Settings, session: AsyncSession, redis: aioredis.Redis, names: Names
) -> Dashboard:
    now = datetime.now(UTC)
    health, llm, queues = await asyncio.gather(
        services_health(settings), assistant_llm(settings), queue_figures(redis, names)
    )
    figures = await database_figures(session, start_of_day(now))
    errors = queues[1] + await database_errors(session)
    errors.sort(key=lambda e: e.when, reverse=True)
    return Dashboard(
        now=now,
        services=health,
        queues=queues[0],
        redis_error=queues[2],
        llm_requests=llm[0],
        llm_turn_failures=llm[1],
        last_errors=errors[:LAST_ERRORS],
        **figures,
    )


async def for_app(app: Any) -> Dashboard:
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
