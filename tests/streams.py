"""Reading a Redis stream in tests, as entries of bytes (what a plain client returns)."""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT, FieldT

Entry = tuple[bytes, dict[bytes, bytes]]
#: Fields to XADD, as redis-py's signature takes them (its `dict` does not accept `dict[str, str]`).
Fields = dict[FieldT, EncodableT]


async def stream_entries(
    redis: aioredis.Redis | RedisCluster, key: str, start: str = "-", end: str = "+"
) -> list[Entry]:
    """The entries of `key` from `start` to `end`, oldest first. redis-py types the answer for
    pipelines and decoded clients too; the tests' clients answer bytes."""
    return xrange_entries(await redis.xrange(key, start, end))


def xrange_entries(answer: object) -> list[Entry]:
    """An XRANGE answer of a plain client, sync or async."""
    return cast(list[Entry], answer or [])


def raw(answer: bytes | str | None) -> bytes:
    """One answer of a plain client: bytes, though redis-py types it for decoded clients too."""
    assert isinstance(answer, bytes), answer
    return answer


def raw_or_none(answer: bytes | str | None) -> bytes | None:
    """`raw`, for a key that may be missing."""
    return None if answer is None else raw(answer)


def any_entry_with(entries: list[Entry], text: str) -> bool:
    """Whether a message model in `entries` (their `data`) says `text`."""
    wanted = text.encode()
    return any(wanted in fields.get(b"data", b"") for _id, fields in entries)
