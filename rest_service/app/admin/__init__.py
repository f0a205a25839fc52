"""The web admin at /admin (sqladmin: tables, change history, analytics, conversations),
built on its first request: sqladmin (with wtforms and jinja2), the admin's views and pages
(`site.py` and the modules beside it) and markdown-it are imported then, not at start. A
rest_service whose admin nobody opens never pays their ~7 MB and ~0.1 s of CPU; the first
admin request waits for the import once (made in a thread, the loop going on).

Until then `app.state.admin` is the `LazyAdmin` below; it holds the session maker and the
zone the lifespan binds (`bind_admin`), which the admin takes over when it is built. Built,
sqladmin's own mount takes the place of this one, so `url_for("admin:…")` and the routes
read the same as if it had been mounted at start.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import Mount

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

#: Where the admin is mounted.
ADMIN_BASE = "/admin"


class LazyAdmin:
    """The ASGI app at /admin until the admin is built, and `app.state.admin` until then."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.session_maker = async_sessionmaker(
            class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self.zone = ZoneInfo("UTC")
        self.route = Mount(ADMIN_BASE, app=self, name="admin")
        self.built: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Imported in a thread: meanwhile the event loop (in one process, every service's)
        # goes on answering. A request that came in while the first built it needs neither.
        if self.built is None:
            await asyncio.to_thread(importlib.import_module, f"{__name__}.site")
        await self.build()(scope, receive, send)

    def build(self) -> ASGIApp:
        """sqladmin's app, mounted where this one was (built on the first call)."""
        if self.built is None:
            from rest_service.app.admin.site import mount_admin

            admin = mount_admin(self.app, self.session_maker, self.zone)
            routes = self.app.router.routes
            mounted = next(r for r in routes if isinstance(r, Mount) and r.app is admin.admin)
            routes.remove(mounted)
            routes[routes.index(self.route)] = mounted
            self.built = admin.admin
        return self.built


def mount_lazy_admin(app: FastAPI) -> LazyAdmin:
    lazy = LazyAdmin(app)
    # First, not after the API: a page's every `url_for("admin:…")` (its links, scripts and
    # styles) walks the routes in order, and each API route it passes raises NoMatchFound.
    # No API path starts with /admin, so matching a request is the same either way.
    app.router.routes.insert(0, lazy.route)
    app.state.admin = lazy
    app.state.lazy_admin = lazy
    return lazy


def bind_admin(app: FastAPI, engine: AsyncEngine, timezone: str = "UTC") -> None:
    """The admin's sessions on the app's engine and its times in ADMIN_TIMEZONE (checked by
    Settings), whether or not it is built yet."""
    lazy: LazyAdmin = app.state.lazy_admin
    lazy.session_maker.configure(bind=engine)
    lazy.zone = ZoneInfo(timezone)
    if lazy.built is not None:
        app.state.admin_clock.zone = lazy.zone
