"""The commit step every config write ends with (bump the version in the same transaction,
commit, republish) and the cached snapshot behind `GET /api/config`."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from common.logging import get_logger
from rest_service.app.domain import history
from rest_service.app.domain.common import flush_or_conflict
from rest_service.app.domain.snapshot import build_snapshot
from rest_service.app.domain.unit_of_work import Ctx
from rest_service.app.domain.version import bump_version, current_version
from rest_service.app.models.snapshot import ConfigSnapshot

log = get_logger(__name__)


async def commit_config(ctx: Ctx) -> int:
    """Flush (a unique clash is a 409), bump the version, record the change history in the
    same transaction, commit, then republish."""
    await flush_or_conflict(ctx.session)
    version = await bump_version(ctx.session)
    history.record(ctx.session, history.take_pending(ctx.session), ctx.actor, version)
    await ctx.session.commit()
    await republish(ctx)
    return version


async def republish(ctx: Ctx) -> None:
    """After a commit: cache the new snapshot and announce it. Best effort: the write stands,
    and readers compare versions with Postgres, so a missed publish is never served stale."""
    try:
        snapshot = await build_snapshot(ctx.session)
        await ctx.session.commit()
    except SQLAlchemyError as exc:
        log.warning("config_republish_failed", error=str(exc)[:300])
        return
    await ctx.cache.publish_config(snapshot.version, dump(snapshot))


async def config_payload(ctx: Ctx) -> bytes:
    """The snapshot's JSON: from memory or Redis when their version is Postgres' version.
    Read-only, so no transaction: the hot path is one round trip after the pool's ping."""
    await ctx.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
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
