"""The admin's own pages: change history (per object, with "revert to this version"),
analytics (the data of `GET /api/stats`, drawn with the vendored Chart.js) and the
conversation viewer. Every route is behind the login (sqladmin's `expose` checks it)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.exceptions import RedisError
from sqladmin import BaseView, expose
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from common.infrastructure.clock import utcnow
from common.infrastructure.dead_letters import DeadLetterError
from common.infrastructure.streams import REPLAYABLE
from rest_service.app.admin import conversations, dashboard, dead_letters, history_view
from rest_service.app.admin.catalogue_page import CatalogueTransferView
from rest_service.app.admin.experiments_page import ExperimentsView, ExperimentView
from rest_service.app.admin.feedback_views import SatisfactionView
from rest_service.app.admin.knowledge_page import KnowledgeImportView
from rest_service.app.admin.leads_views import LeadsExportView
from rest_service.app.admin.request_ctx import BIGINT_MAX, AdminFormError, admin_ctx, app_state
from rest_service.app.domain import (
    calendar,
    handoffs,
    revert,
    stats,
    thread_summaries,
    usage,
    users,
)
from rest_service.app.domain.history import ENTITIES
from rest_service.app.domain.paging import Page
from rest_service.app.models.calendar import CalendarCredential
from rest_service.app.models.cron import CronJob
from rest_service.app.models.handoffs import HandoffReplyIn
from rest_service.app.models.thread import ChatMessage, UserAssistantThread
from rest_service.app.models.user import User

STATIC = Path(__file__).parent / "static"
HISTORY_PAGE = Page(limit=100, offset=0)
THREADS_PAGE = Page(limit=50, offset=0)
MESSAGES_PAGE = Page(limit=500, offset=0)
MAX_DAYS = 3650


def script_json(value: object) -> str:
    """JSON safe to put inside a <script> element."""
    return json.dumps(value, default=str).replace("</", "<\\/")


DASHBOARD_REFRESH_S = 10


async def dashboard_context(app: Starlette, request: Request) -> dict[str, object]:
    refresh = _int(request.query_params.get("refresh"), DASHBOARD_REFRESH_S, 2, 300)
    return {
        "dashboard": await dashboard.for_app(app),
        "since_label": dashboard.since_label,
        "refresh_seconds": refresh,
    }


class DashboardPanelView(BaseView):
    """The dashboard's figures alone, which the landing page fetches to refresh itself."""

    name = "Dashboard panel"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/dashboard/panel", methods=["GET"], identity="dashboard-panel")
    async def panel(self, request: Request) -> Response:
        context = await dashboard_context(self._admin_ref.app, request)
        response = await self.templates.TemplateResponse(
            request, "admin_dashboard_panel.html", context
        )
        response.headers["Cache-Control"] = "no-store"
        return response


class HistoryView(BaseView):
    name = "Change history"
    icon = "fa-solid fa-clock-rotate-left"

    @expose("/history", methods=["GET"], identity="history")
    async def history_page(self, request: Request) -> Response:
        entity = request.query_params.get("entity") or None
        entity_id = _uuid(request.query_params.get("entity_id"))
        if entity not in (*ENTITIES, dead_letters.ENTITY):
            entity = None
        actor = request.query_params.get("actor") or None
        async with admin_ctx(self, request) as ctx:
            rows, total = await history_view.changes(
                ctx.session, HISTORY_PAGE, entity, entity_id, actor
            )
            changes = await history_view.lines(ctx.session, rows)
            actors = await history_view.actors(ctx.session)
        context = {
            "changes": changes,
            "total": total,
            "entity": entity,
            "entity_id": entity_id,
            "actor": actor,
            "actors": actors,
            "entities": [*ENTITIES, dead_letters.ENTITY],
            "error": request.query_params.get("error"),
            "reverted": request.query_params.get("reverted"),
        }
        return await self.templates.TemplateResponse(request, "admin_history.html", context)


class HistoryRevertView(BaseView):
    """The "revert to this version" button's target (a POST; not a menu entry)."""

    name = "Revert"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/history/{change_id:int}/revert", methods=["POST"], identity="history-revert")
    async def revert(self, request: Request) -> Response:
        change_id = int(request.path_params["change_id"])
        url = request.url_for("admin:view-history")
        try:
            if change_id > BIGINT_MAX:
                raise AdminFormError(f"change {change_id} not found")
            async with admin_ctx(self, request) as ctx:
                change = await revert.revert_to(ctx, change_id)
        except AdminFormError as exc:
            target = url.include_query_params(error=f"revert of change {change_id}: {exc}")
            return RedirectResponse(str(target), status_code=303)
        target = url.include_query_params(
            entity=change.entity, entity_id=str(change.entity_id), reverted=str(change_id)
        )
        return RedirectResponse(str(target), status_code=303)


class DeadLettersView(BaseView):
    """Dead letters: list, show, replay, purge (`./manage.py dlq`), each recorded in the
    change history."""

    name = "Dead letters"
    icon = "fa-solid fa-skull-crossbones"

    @expose("/dead-letters", methods=["GET"], identity="dead-letters")
    async def list_page(self, request: Request) -> Response:
        return await self._page(request, None)

    @expose("/dead-letters/{entry_id}", methods=["GET"], identity="dead-letter")
    async def show_page(self, request: Request) -> Response:
        return await self._page(request, str(request.path_params["entry_id"]))

    async def _page(self, request: Request, entry_id: str | None) -> Response:
        settings = app_state(self).settings
        params = request.query_params
        purged = params.get("purged")
        context: dict[str, object] = {
            "entries": [],
            "entry": None,
            "entry_id": entry_id,
            "error": params.get("error"),
            "replayed": params.get("replayed"),
            "replayed_as": params.get("as"),
            "replayed_stream": params.get("stream"),
            "purged": int(purged) if purged and purged.isdecimal() else None,
            "replayable": REPLAYABLE,
        }
        try:
            context["entries"] = await dead_letters.list_all(settings)
            if entry_id is not None:
                stream, entry = await dead_letters.show(
                    settings, entry_id, params.get("stream") or None
                )
                context.update(
                    entry=entry,
                    dead_stream=stream + ":dead",
                    entry_json=json.dumps(dead_letters.pretty(entry), ensure_ascii=False, indent=2),
                )
        except DeadLetterError as exc:
            context["error"] = str(exc)
        except (RedisError, OSError) as exc:
            context["error"] = f"Redis did not answer: {type(exc).__name__}: {exc}"
        return await self.templates.TemplateResponse(request, "admin_dead_letters.html", context)


class DeadLetterActionsView(BaseView):
    """The replay and purge buttons' targets (POSTs; not a menu entry)."""

    name = "Dead letter actions"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/dead-letters/{entry_id}/replay", methods=["POST"], identity="dead-letters-replay")
    async def replay(self, request: Request) -> Response:
        entry_id = str(request.path_params["entry_id"])
        url = request.url_for("admin:view-dead-letters")
        try:
            async with admin_ctx(self, request) as ctx:
                stream, new_id = await dead_letters.replay(
                    ctx.settings,
                    ctx.session,
                    ctx.actor,
                    entry_id,
                    request.query_params.get("stream") or None,
                )
        except (DeadLetterError, RedisError, OSError) as exc:
            return _see(url.include_query_params(error=f"replay of {entry_id}: {exc}"))
        return _see(url.include_query_params(replayed=entry_id, stream=stream, **{"as": new_id}))

    @expose("/dead-letters-purge", methods=["POST"], identity="dead-letters-purge")
    async def purge(self, request: Request) -> Response:
        url = request.url_for("admin:view-dead-letters")
        try:
            async with admin_ctx(self, request) as ctx:
                count = await dead_letters.purge(ctx.settings, ctx.session, ctx.actor)
        except (RedisError, OSError) as exc:
            return _see(url.include_query_params(error=f"purge: {exc}"))
        return _see(url.include_query_params(purged=str(count)))


def _see(url: URL) -> Response:
    return RedirectResponse(str(url), status_code=303)


class UserPageView(BaseView):
    """One user: their reminders, calendar connection (never the tokens), usage this month,
    and the actions: disconnect the calendar, forget the user (`/forget`)."""

    name = "User page"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/users/{user_id:uuid}", methods=["GET"], identity="user-page")
    async def user_page(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        now = utcnow()
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        async with admin_ctx(self, request) as ctx:
            user = await ctx.session.get(User, user_id)
            if user is None:
                return _see(request.url_for("admin:list", identity="user"))
            jobs = await ctx.session.scalars(
                select(CronJob)
                .where(col(CronJob.user_id) == user_id)
                .order_by(col(CronJob.next_run_at))
            )
            calendars = await ctx.session.scalars(
                select(CalendarCredential).where(col(CalendarCredential.user_id) == user_id)
            )
            context = {
                "user": user,
                "jobs": list(jobs.all()),
                "calendars": list(calendars.all()),
                "usage": await usage.user_usage(ctx, user_id, month),
                "month": month,
                "done": request.query_params.get("done"),
                "error": request.query_params.get("error"),
            }
        return await self.templates.TemplateResponse(request, "admin_user.html", context)

    @expose(
        "/users/{user_id:uuid}/disconnect-calendar",
        methods=["POST"],
        identity="user-disconnect-calendar",
    )
    async def disconnect(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        url = request.url_for("admin:view-user-page", user_id=str(user_id))
        try:
            async with admin_ctx(self, request) as ctx:
                await calendar.delete_credentials(ctx, user_id)
        except AdminFormError as exc:
            return _see(url.include_query_params(error=str(exc)))
        return _see(url.include_query_params(done="The calendar is disconnected."))

    @expose("/users/{user_id:uuid}/forget", methods=["POST"], identity="user-forget")
    async def forget(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        async with admin_ctx(self, request) as ctx:
            await users.forget_user(ctx, user_id)
        return _see(request.url_for("admin:list", identity="user"))


class AnalyticsView(BaseView):
    name = "Analytics"
    icon = "fa-solid fa-chart-line"

    @expose("/analytics", methods=["GET"], identity="analytics")
    async def analytics_page(self, request: Request) -> Response:
        days = _int(request.query_params.get("days"), 30, 1, MAX_DAYS)
        async with admin_ctx(self, request) as ctx:
            data = await stats.collect(ctx, days)
        context = {"days": days, "stats": data, "stats_json": script_json(data.model_dump())}
        return await self.templates.TemplateResponse(request, "admin_analytics.html", context)


class ChartJsView(BaseView):
    """Chart.js for the analytics page, behind the login like every admin route."""

    name = "Chart.js"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/analytics/chart.js", methods=["GET"], identity="analytics-chartjs")
    async def chart_js(self, request: Request) -> Response:
        """Chart.js (MIT), vendored from its npm package: no CDN."""
        return FileResponse(
            STATIC / "chart.umd.min.js",
            media_type="text/javascript",
            headers={"Cache-Control": "private, max-age=86400"},
        )


class ConversationsView(BaseView):
    """A user's threads (private ones and their groups') with every message and tool call,
    for support and audit."""

    name = "Conversations"
    icon = "fa-solid fa-comments"

    @expose("/conversations", methods=["GET"], identity="conversations")
    async def conversations_page(self, request: Request) -> Response:
        query = (request.query_params.get("user") or "").strip()
        text = (request.query_params.get("q") or "").strip()
        thread_id = (request.query_params.get("thread") or "").strip()
        context: dict[str, object] = {"query": query, "text": text, "thread_id": thread_id}
        async with admin_ctx(self, request) as ctx:
            user = await _find_user(ctx.session, query) if query else None
            keys = await _conversation_keys(ctx.session, user, query)
            context["user"] = user
            context["threads"] = await _threads(ctx.session, keys) if keys else []
            context["recent"] = (
                await conversations.recent(ctx.session, text) if not query or text else []
            )
            messages = await _messages(ctx.session, thread_id) if thread_id else []
            context["messages"] = conversations.with_tool_cards(messages)
            context["summary"] = (
                await thread_summaries.summary_of(ctx, thread_id) if thread_id else None
            )
            key = messages[0]["message"].conversation_key if messages else None
            context["handoff"] = await handoffs.open_handoff(ctx, key) if key else None
        context["done"] = request.query_params.get("done")
        context["error"] = request.query_params.get("error")
        return await self.templates.TemplateResponse(request, "admin_conversations.html", context)

    @expose(
        "/conversations/handoffs/{handoff_id:uuid}/reply",
        methods=["POST"],
        identity="conversations-handoff-reply",
    )
    async def handoff_reply(self, request: Request) -> Response:
        """The admin answers a handed-off customer: it reaches them on their channel."""
        form = await request.form()
        back = _thread_url(request, str(form.get("thread") or ""))
        try:
            async with admin_ctx(self, request) as ctx:
                text = str(form.get("text") or "")
                data = HandoffReplyIn(text=text, author=ctx.actor[:100])
                await handoffs.reply(ctx, request.path_params["handoff_id"], data)
        except AdminFormError as exc:
            return _see(back.include_query_params(error=str(exc)))
        return _see(back.include_query_params(done="The reply is on its way to the customer."))

    @expose(
        "/conversations/handoffs/{handoff_id:uuid}/return",
        methods=["POST"],
        identity="conversations-handoff-return",
    )
    async def handoff_return(self, request: Request) -> Response:
        """The admin hands the conversation back to the bot."""
        form = await request.form()
        back = _thread_url(request, str(form.get("thread") or ""))
        try:
            async with admin_ctx(self, request) as ctx:
                await handoffs.hand_back(ctx, request.path_params["handoff_id"], ctx.actor[:100])
        except AdminFormError as exc:
            return _see(back.include_query_params(error=str(exc)))
        return _see(back.include_query_params(done="The bot has the conversation again."))


def _thread_url(request: Request, thread_id: str) -> URL:
    url = request.url_for("admin:view-conversations")
    return url.include_query_params(thread=thread_id) if thread_id else url


@dataclass(frozen=True)
class OlderThread:
    """A thread only its messages remember (`/reset` replaced it), listed like a current one."""

    thread_id: str
    user_id: str
    assistant_id: uuid.UUID | None = None
    last_used: datetime | None = None


async def _find_user(session: AsyncSession, query: str) -> User | None:
    as_uuid = _uuid(query)
    if as_uuid is not None:
        return await session.get(User, as_uuid)
    if query.isdecimal() and len(query) < 19:  # isdigit() also takes "²", which int() refuses
        return await session.scalar(select(User).where(col(User.telegram_id) == int(query)))
    return await session.scalar(select(User).where(col(User.username) == query.lstrip("@")))


async def _conversation_keys(session: AsyncSession, user: User | None, query: str) -> list[str]:
    """The user's private conversation and every group they wrote in (or a raw key: a
    group's, or a bots row's conversation)."""
    if user is None:
        return [query] if query.startswith(("chat:", "bot:", "assistant:")) else []
    groups = await session.scalars(
        select(col(ChatMessage.conversation_key))
        .where(col(ChatMessage.user_id) == user.id)
        .distinct()
        .limit(THREADS_PAGE.limit)
    )
    return [str(user.id), *[k for k in groups.all() if k != str(user.id)]]


async def _threads(
    session: AsyncSession, keys: list[str]
) -> list[UserAssistantThread | OlderThread]:
    """Current threads and, from the messages, older ones (a `/reset` starts a new one)."""
    current = (
        await session.scalars(
            select(UserAssistantThread)
            .where(col(UserAssistantThread.user_id).in_(keys))
            .order_by(col(UserAssistantThread.last_used).desc())
            .limit(THREADS_PAGE.limit)
        )
    ).all()
    known = {t.thread_id for t in current}
    older = (
        await session.execute(
            select(col(ChatMessage.thread_id), col(ChatMessage.conversation_key))
            .where(or_(*[col(ChatMessage.conversation_key) == k for k in keys]))
            .distinct()
            .limit(THREADS_PAGE.limit)
        )
    ).all()
    extra = [OlderThread(thread_id=t, user_id=k) for t, k in older if t not in known]
    return [*current, *extra]


async def _messages(session: AsyncSession, thread_id: str) -> list[conversations.MessageItem]:
    rows = (
        await session.scalars(
            select(ChatMessage)
            .where(col(ChatMessage.thread_id) == thread_id)
            .order_by(col(ChatMessage.id))
            .limit(MESSAGES_PAGE.limit)
        )
    ).all()
    return [
        {
            "message": m,
            "tool_calls": json.dumps(m.tool_calls, ensure_ascii=False, indent=2)
            if m.tool_calls
            else None,
        }
        for m in rows
    ]


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value or default), low), high)
    except ValueError:
        return default


PAGES: tuple[type[BaseView], ...] = (
    DashboardPanelView,
    HistoryView,
    HistoryRevertView,
    DeadLettersView,
    DeadLetterActionsView,
    UserPageView,
    AnalyticsView,
    ChartJsView,
    ConversationsView,
    CatalogueTransferView,
    KnowledgeImportView,
    LeadsExportView,
    SatisfactionView,
    ExperimentsView,
    ExperimentView,
)
