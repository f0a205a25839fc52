"""Dead-letter streams: what failed, why, how many times; replay; purge. Used by
`./manage.py dlq` and the web admin."""

from __future__ import annotations

from typing import Any, cast

import redis

from common.infrastructure.queue import dead_entry_summary
from common.infrastructure.redis_keys import Names
from common.infrastructure.streams import DEAD_LETTERED, REPLAYABLE


class DeadLetterError(Exception):
    """What `dlq` and the admin report as a plain message."""


class DeadLetterNotFound(DeadLetterError, LookupError):
    pass


class AmbiguousDeadLetter(DeadLetterNotFound):
    """The id names a dead letter in more than one dead stream (ids are per stream, so two
    streams can hold the same one): the caller must say which stream."""


class NotReplayable(DeadLetterError):
    """A dead letter with no stream to go back to."""


def list_dead(client: redis.Redis, names: Names) -> list[dict[str, str]]:
    rows = []
    for stream in DEAD_LETTERED:
        for entry_id, fields in _entries(client.xrange(names.dead(stream))):
            rows.append({"id": entry_id.decode(), **summary(fields)})
    return rows


def _entries(found: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """XRANGE's answer as the client without decode_responses gives it."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], found or [])


def summary(fields: dict[bytes, bytes]) -> dict[str, str]:
    """The entry as text, whatever its payload: one `json` cannot read (nested too deep, not
    JSON) or without a message id is shown as it is, instead of crashing the list."""
    try:
        return dead_entry_summary(fields)  # type: ignore[arg-type]
    except (RecursionError, ValueError, KeyError, TypeError):
        rest = {key: value for key, value in fields.items() if key not in (b"data", "data")}
        data = fields.get(b"data", b"")
        return {**dead_entry_summary(rest), "data": data.decode("utf-8", "backslashreplace")}  # type: ignore[arg-type]


def find_dead(
    client: redis.Redis, names: Names, entry_id: str, stream: str | None = None
) -> tuple[str, dict[str, str]]:
    """The stream whose dead letters hold `entry_id`, and the entry; `stream` names the
    stream when the id is in more than one."""
    if stream is not None and stream not in DEAD_LETTERED:
        raise DeadLetterNotFound(f"{stream} is not one of {', '.join(DEAD_LETTERED)}")
    hits = []
    for candidate in (stream,) if stream else DEAD_LETTERED:
        found = _entries(client.xrange(names.dead(candidate), entry_id, entry_id))
        if found:
            hits.append((candidate, {"id": entry_id, **summary(found[0][1])}))
    if len(hits) > 1:
        where = " and ".join(hit[0] for hit in hits)
        raise AmbiguousDeadLetter(f"dead letter {entry_id} is in {where}: name one (--stream)")
    if not hits:
        where = stream or ", ".join(DEAD_LETTERED)
        raise DeadLetterNotFound(f"no dead letter {entry_id} in {where}")
    return hits[0]


def replay(client: redis.Redis, names: Names, entry_id: str, stream: str | None = None) -> str:
    """Put the entry's payload back on its stream; returns the new entry id.

    The dead stream and its target are in different Redis Cluster slots, so no transaction
    holds both: the payload is added first, then the dead letter deleted. A failure between
    the two leaves the dead letter in place, and replaying it again queues the message twice,
    which the consumer's `done:` record answers once (its message id is the same)."""
    dead, entry = find_dead(client, names, entry_id, stream)
    if dead not in REPLAYABLE:
        raise NotReplayable(
            f"{entry_id} on {dead} is a Telegram update tg_bot could not queue: read it with"
            " `show`; nothing takes it back (Telegram sends an update once); `purge` removes it"
        )
    target = entry.get("stream") or dead
    new_id = client.xadd(names.stream(target), {"data": entry.get("data", "")})
    client.xdel(names.dead(dead), entry_id)
    return new_id.decode() if isinstance(new_id, bytes) else str(new_id)


def purge(client: redis.Redis, names: Names) -> int:
    """Delete every dead letter; returns how many there were (one stream at a time: each is
    a slot of its own on a cluster)."""
    count = 0
    for stream in DEAD_LETTERED:
        count += int(client.xlen(names.dead(stream)))
        client.delete(names.dead(stream))
    return count
