"""Dead letters in the admin: the same list, show, replay and purge as `./manage.py dlq`
(ops/dlq.py's functions, run on a synchronous client in a worker thread), each replay and
purge recorded in the change history as a `dead_letter` entry."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

import redis
from sqlalchemy.ext.asyncio import AsyncSession

from common.infrastructure import dead_letters as dlq
from common.infrastructure.redis_connection import create_sync_redis
from common.infrastructure.redis_keys import Names
from rest_service.app.domain.version import current_version
from rest_service.app.models.history import ConfigChange
from rest_service.app.settings import Settings

T = TypeVar("T")

#: The history's kind for these entries (never a config object: they cannot be reverted).
ENTITY = "dead_letter"
#: Seconds a Redis call may take before the page says Redis did not answer.
TIMEOUT_S = 5.0
#: Every purge is recorded under this id, so the history's filter finds all of them.
PURGE_ID = uuid.uuid5(uuid.NAMESPACE_URL, "smart-assistant:dead-letters:purge")


def sync_client(settings: Settings) -> redis.Redis:
    """A synchronous client of the service's Redis (single, Sentinel's master, or a Cluster),
    as common/infrastructure/dead_letters.py takes one."""
    return create_sync_redis(
        settings.redis_url,
        sentinels=settings.redis_sentinels,
        sentinel_master=settings.redis_sentinel_master,
        cluster=settings.redis_cluster,
        timeout_s=TIMEOUT_S,
    )


async def _run(settings: Settings, action: Callable[[redis.Redis, Names], T]) -> T:
    def work() -> T:
        client = sync_client(settings)
        try:
            return action(client, Names(settings.redis_key_prefix))
        finally:
            client.close()

    return await asyncio.to_thread(work)


def entry_uuid(entry_id: str) -> uuid.UUID:
    """The history's object id of one dead letter (its stream entry id is not a UUID)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"smart-assistant:dead-letter:{entry_id}")


def pretty(entry: dict[str, str]) -> dict[str, object]:
    """The entry with its JSON fields (the message, the raw bytes) parsed for reading."""
    shown: dict[str, object] = {}
    for key, value in entry.items():
        try:
            shown[key] = json.loads(value) if key in ("data", "raw_b64") else value
        except (ValueError, RecursionError):
            shown[key] = value
    return shown


async def list_all(settings: Settings) -> list[dict[str, str]]:
    return await _run(settings, dlq.list_dead)


async def show(
    settings: Settings, entry_id: str, stream: str | None = None
) -> tuple[str, dict[str, str]]:
    """The dead stream's name and the entry (`stream`: the one to look in, as ids are per
    stream); `dlq.DeadLetterNotFound` if there is none."""
    return await _run(settings, lambda c, n: dlq.find_dead(c, n, entry_id, stream))


async def replay(
    settings: Settings,
    session: AsyncSession,
    actor: str,
    entry_id: str,
    stream: str | None = None,
) -> tuple[str, str]:
    """Put the entry back on its stream and record it; answers (stream, new entry id)."""
    stream, entry = await show(settings, entry_id, stream)
    new_id = await _run(settings, lambda c, n: dlq.replay(c, n, entry_id, stream))
    target = entry.get("stream") or stream
    after = {"replayed_as": new_id, "stream": target}
    await _record(session, actor, entry_uuid(entry_id), "replayed", entry, after)
    return target, new_id


async def purge(settings: Settings, session: AsyncSession, actor: str) -> int:
    """Delete every dead letter and record how many, with their ids and errors."""
    entries = await list_all(settings)
    count = await _run(settings, dlq.purge)
    before = {"entries": [{"id": e["id"], "error": e.get("error", "")} for e in entries]}
    await _record(session, actor, PURGE_ID, "purged", before, {"purged": count})
    return count


async def _record(
    session: AsyncSession,
    actor: str,
    entity_id: uuid.UUID,
    action: str,
    before: Mapping[str, object],
    after: Mapping[str, object],
) -> None:
    """A history entry at the current config version (the config itself did not change),
    committed with the admin's unit of work."""
    version = await current_version(session)
    session.add(
        ConfigChange(
            entity=ENTITY,
            entity_id=entity_id,
            action=action,
            actor=actor,
            version=version,
            before=dict(before),
            after=dict(after),
        )
    )
