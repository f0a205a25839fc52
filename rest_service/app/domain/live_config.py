"""The step every config write ends with (bump the version and record the history in the
unit of work's transaction, republish after its commit) and the cached snapshot behind
`GET /api/config`."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from common.infrastructure.logging import get_logger
from common.infrastructure.wire import ConfigSnapshot
from rest_service.app.domain import history
from rest_service.app.domain.common import flush_or_conflict
from rest_service.app.domain.snapshot import build_snapshot
from rest_service.app.domain.unit_of_work import UnitOfWork, autocommit
from rest_service.app.domain.version import bump_version, current_version

log = get_logger(__name__)


async def config_changed(ctx: UnitOfWork) -> int:
    """Flush (a unique clash is a 409), bump the version once per unit of work, record the
    change history under it, and republish after the commit; answers the new version."""
    await flush_or_conflict(ctx.session)
    if ctx.config_version is None:
        ctx.config_version = await bump_version(ctx.session)
    history.record(ctx.session, history.take_pending(ctx.session), ctx.actor, ctx.config_version)
    ctx.after_commit("config", republish)
    return ctx.config_version


async def republish(ctx: UnitOfWork) -> None:
    """After a commit: cache the new snapshot and announce it. Best effort: the write stands,
    and readers compare versions with Postgres, so a missed publish is never served stale."""
    try:
        snapshot = await build_snapshot(ctx.session)
    except SQLAlchemyError as exc:
        log.warning("config_republish_failed", error=str(exc)[:300])
        return
    await ctx.cache.publish_config(snapshot.version, dump(snapshot))


async def config_payload(ctx: UnitOfWork) -> bytes:
    """The snapshot's JSON: from memory or Redis when their version is Postgres' version.
    Read-only, so no transaction: the hot path is one round trip after the pool's ping."""
    await autocommit(ctx)
    version = await current_version(ctx.session)
    cached = await ctx.cache.get(version)
    if cached is not None:
        return cached
    snapshot = await build_snapshot(ctx.session)
    payload = dump(snapshot)
    await ctx.cache.put(snapshot.version, payload)
    return payload


def dump(snapshot: ConfigSnapshot) -> bytes:
    return snapshot.model_dump_json().encode()
