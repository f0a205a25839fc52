"""Dead-letter streams: what failed, why, how many times; replay; purge. Used by
`./manage.py dlq` and the web admin."""

from __future__ import annotations

from typing import Any, cast

import redis

from common.names import TO_SECRETARY, TO_TELEGRAM, Names
from common.queue import dead_entry_summary

STREAMS = (TO_SECRETARY, TO_TELEGRAM)


class DeadLetterNotFound(LookupError):
    pass


def list_dead(client: redis.Redis, names: Names) -> list[dict[str, str]]:
    rows = []
    for stream in STREAMS:
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


def find_dead(client: redis.Redis, names: Names, entry_id: str) -> tuple[str, dict[str, str]]:
    for stream in STREAMS:
        found = _entries(client.xrange(names.dead(stream), entry_id, entry_id))
        if found:
            return stream, {"id": entry_id, **summary(found[0][1])}
    raise DeadLetterNotFound(f"no dead letter {entry_id} in {', '.join(STREAMS)}")


def replay(client: redis.Redis, names: Names, entry_id: str) -> str:
    """Put the entry's payload back on its stream; returns the new entry id.

    The dead stream and its target are in different Redis Cluster slots, so no transaction
    holds both: the payload is added first, then the dead letter deleted. A failure between
    the two leaves the dead letter in place, and replaying it again queues the message twice,
    which the consumer's `done:` record answers once (its message id is the same)."""
    stream, entry = find_dead(client, names, entry_id)
    target = entry.get("stream") or stream
    new_id = client.xadd(names.stream(target), {"data": entry.get("data", "")})
    client.xdel(names.dead(stream), entry_id)
    return new_id.decode() if isinstance(new_id, bytes) else str(new_id)


def purge(client: redis.Redis, names: Names) -> int:
    """Delete every dead letter; returns how many there were (one stream at a time: each is
    a slot of its own on a cluster)."""
    count = 0
    for stream in STREAMS:
        count += int(client.xlen(names.dead(stream)))
        client.delete(names.dead(stream))
    return count
