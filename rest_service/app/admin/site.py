"""The web admin at /admin (sqladmin): tables, change history, analytics, conversations.
Built on its first request (the package's `LazyAdmin`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqladmin.authentication import login_required
from sqladmin.formatters import BASE_FORMATTERS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from rest_service.app.admin import ADMIN_BASE
from rest_service.app.admin.api_client_views import ApiClientAdmin
from rest_service.app.admin.auth import AdminAuth
from rest_service.app.admin.bot_views import BotAdmin
from rest_service.app.admin.display_names import AdminClock
from rest_service.app.admin.feedback_views import FeedbackAdmin
from rest_service.app.admin.leads_views import LEAD_VIEWS
from rest_service.app.admin.pages import PAGES, dashboard_context
from rest_service.app.admin.pairing_views import PairingAdmin
from rest_service.app.admin.views import VIEWS
from rest_service.app.admin.webhook_views import WebhookAdmin, WebhookDeliveryAdmin

TEMPLATES = Path(__file__).parent / "templates"


class DashboardAdmin(Admin):
    """sqladmin with the dashboard as its landing page (sqladmin's `index` is meant to be
    overridden for that)."""

    @login_required
    async def index(self, request: Request) -> Response:
        context = await dashboard_context(self.app, request)
        return await self.templates.TemplateResponse(request, "admin_dashboard.html", context)


def mount_admin(app: FastAPI, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> Admin:
    """Mount the admin on `sessions`, which the lifespan binds to the engine (`bind_admin`),
    its times shown in `zone`."""
    admin = DashboardAdmin(
        app,
        session_maker=sessions,
        base_url=ADMIN_BASE,
        title="Smart Assistant admin",
        templates_dir=str(TEMPLATES),
        authentication_backend=AdminAuth(app),
    )
    clock = AdminClock(zone)
    times = {**BASE_FORMATTERS, datetime: clock.when}
    views: tuple[type[ModelView], ...] = (
        *VIEWS,
        *LEAD_VIEWS,
        FeedbackAdmin,
        BotAdmin,
        WebhookAdmin,
        WebhookDeliveryAdmin,
        ApiClientAdmin,
        PairingAdmin,
    )
    for view in views:
        # sqladmin binds the session maker on the view class itself: a class per app, so a
        # second app in one process (a test's) cannot point this app's admin at its database
        # (nor show its times in that app's zone).
        per_app = {
            "__module__": view.__module__,
            "column_type_formatters": times,
            "column_type_formatters_detail": times,
        }
        admin.add_view(type(view.__name__, (view,), per_app))
    admin.templates.env.filters["admin_time"] = clock.when
    app.state.admin_clock = clock
    for page in PAGES:
        admin.add_base_view(type(page.__name__, (page,), {"__module__": page.__module__}))
    app.state.admin = admin
    return admin
