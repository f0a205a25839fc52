"""One transaction per request or command. Domain functions only flush; the unit commits on
success, rolls back on error, and only after a commit runs what must never announce a write
that did not happen (republishing the live config, telling cron_service its jobs changed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from common.infrastructure.crypto import SecretBox
from rest_service.app.live_config_cache import ConfigCache
from rest_service.app.settings import Settings

AfterCommit = Callable[["UnitOfWork"], Awaitable[None]]


@dataclass
class UnitOfWork:
    """The one argument every domain function takes: the session and what a write needs."""

    session: AsyncSession
    settings: Settings
    box: SecretBox
    cache: ConfigCache
    #: Who is writing, for the change history (`admin-token`, `admin:<username>`, `seed`, …).
    actor: str = "api"
    #: The config version this unit's config changes make (one per unit), once bumped.
    config_version: int | None = None
    _hooks: dict[str, AfterCommit] = field(default_factory=dict)

    def after_commit(self, key: str, hook: AfterCommit) -> None:
        """Run `hook` once the unit has committed; one hook per key (a second one replaces
        the first), so a unit of several changes announces once."""
        self._hooks[key] = hook


class CommitThenRaise(Exception):
    """A refusal that keeps what was done before it (an expired pending calendar connection
    is dropped, and the confirm still answers 404): the unit commits, then raises `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Resources(Protocol):
    """What a unit of work is built from: the app's `AppState` (a request, the seed, a
    command), or a test's state bound to its own transaction."""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def box(self) -> SecretBox: ...
    @property
    def cache(self) -> ConfigCache: ...


@asynccontextmanager
async def unit_of_work(resources: Resources, actor: str = "api") -> AsyncIterator[UnitOfWork]:
    async with resources.sessions() as session:
        ctx = UnitOfWork(session, resources.settings, resources.box, resources.cache, actor)
        try:
            yield ctx
        except CommitThenRaise as exc:
            await _commit(ctx)
            raise exc.error from None
        except Exception:
            await session.rollback()
            raise
        await _commit(ctx)


async def autocommit(ctx: UnitOfWork) -> None:
    """For a unit whose statements each stand alone: no BEGIN/COMMIT round trips. Only on a
    connection of the unit's own; one joined to an outer transaction (a test's) keeps it.
    Not with the statement cache off (DB_STATEMENT_CACHE_SIZE=0, for a transaction-mode
    pooler such as PgBouncer): there a statement's prepare and execute reach the same server
    connection only inside a transaction."""
    if ctx.settings.db_statement_cache_size == 0:
        return
    if isinstance(ctx.session.bind, AsyncEngine):
        await ctx.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def _commit(ctx: UnitOfWork) -> None:
    await ctx.session.commit()
    hooks, ctx._hooks = list(ctx._hooks.values()), {}
    for hook in hooks:
        await hook(ctx)
