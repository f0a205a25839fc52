"""The blob budget: users' files waiting in Redis are within bytes per sender and in all,
reserved atomically before they are written; over a budget, or refused by a full Redis,
nothing is stored and the books stay right; a delete and an expiry give the bytes back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.blobs import BlobBudget, BlobStore, OverBudget, RedisFull
from common.infrastructure.redis_keys import Names
from tests.redis_topologies import full_redis
from tests.waiting import until

KB = 1024


async def test_a_sender_over_the_budget_is_refused_and_nothing_is_stored(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names, budget=BlobBudget(per_user=100 * KB, total=1000 * KB))
    first = await store.put(b"a" * 40 * KB, owner="ann")
    await store.put(b"b" * 40 * KB, owner="ann")
    with pytest.raises(OverBudget) as refused:
        await store.put(b"c" * 40 * KB, "ann-third", owner="ann")
    assert refused.value.scope == "user" and refused.value.limit == 100 * KB
    assert not await redis.exists(names.blob("ann-third"))
    assert await store.usage("ann") == 80 * KB
    await store.put(b"d" * 40 * KB, owner="bob")  # another sender has a budget of their own
    await store.delete(first)  # a consumed blob gives its bytes back
    assert await store.usage("ann") == 40 * KB
    await store.put(b"e" * 40 * KB, owner="ann")


async def test_the_total_budget_holds_across_senders(redis: aioredis.Redis, names: Names) -> None:
    store = BlobStore(redis, names, budget=BlobBudget(per_user=100 * KB, total=100 * KB))
    # the books are one per Redis: start from what other tests left
    await redis.delete(*(names.blob_budget(part) for part in ("owners", "expiry")))
    for sender in ("a", "b", "c"):
        await store.put(b"x" * 30 * KB, owner=sender)
    with pytest.raises(OverBudget) as refused:
        await store.put(b"x" * 30 * KB, owner="d")
    assert refused.value.scope == "total"
    await redis.delete(*(names.blob_budget(part) for part in ("owners", "expiry")))


async def test_racing_puts_cannot_pass_the_last_free_byte(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names, budget=BlobBudget(per_user=55 * KB))
    results = await asyncio.gather(
        *(store.put(b"r" * 10 * KB, owner="racer") for _ in range(20)), return_exceptions=True
    )
    stored = [r for r in results if isinstance(r, str)]
    assert len(stored) == 5 and all(isinstance(r, OverBudget) for r in results if r not in stored)
    assert await store.usage("racer") == 50 * KB
    await store.delete(*stored)
    assert await store.usage("racer") == 0


async def test_an_expired_blob_gives_its_bytes_back_at_the_next_put(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names, budget=BlobBudget(per_user=50 * KB))
    key = await store.put(b"o" * 40 * KB, owner="late")
    await redis.delete(key)  # what its TTL does
    await redis.zadd(names.blob_budget("expiry"), {key: 0})  # ... once its time has come
    await store.put(b"n" * 40 * KB, owner="late")
    assert await store.usage("late") == 40 * KB


async def test_a_redelivered_file_is_counted_once(redis: aioredis.Redis, names: Names) -> None:
    store = BlobStore(redis, names, budget=BlobBudget(per_user=50 * KB))
    for _ in range(3):
        await store.put(b"s" * 20 * KB, "update-9-file-a", owner="same")
    assert await store.usage("same") == 20 * KB


@pytest.fixture
async def full(tmp_path: Path) -> AsyncIterator[aioredis.Redis]:
    with full_redis(tmp_path, "4mb") as server:
        client = aioredis.Redis.from_url(server.url)
        try:
            yield client
        finally:
            await client.aclose()


async def test_a_full_redis_refuses_politely_and_the_books_stay_right(
    full: aioredis.Redis,
) -> None:
    names = Names(prefix="full:")
    store = BlobStore(full, names, budget=BlobBudget(per_user=64 * 1024 * KB))
    with pytest.raises(RedisFull):
        await store.put(b"z" * 6 * 1024 * KB, "big", owner="filler")
    assert not await full.exists(names.blob("big"))
    assert await store.usage("filler") == 0
    await _memory_below_the_limit(full)  # the refused command's buffer is let go
    small = await store.put(b"q" * KB, owner="filler")  # a small file still fits
    await store.delete(small)
    assert await store.usage() == 0


async def _memory_below_the_limit(client: aioredis.Redis) -> None:
    async def below() -> bool:
        memory = await client.info("memory")
        return bool(memory["used_memory"] < memory["maxmemory"])

    await until(below, 10, "Redis's memory below its limit")


_OPS = st.lists(
    st.tuples(st.sampled_from(["put", "delete"]), st.sampled_from(["u1", "u2"]),
              st.integers(min_value=1, max_value=30 * KB)),
    max_size=25,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
async def test_the_books_match_what_is_stored_after_any_puts_and_deletes(
    redis: aioredis.Redis, ops: list[tuple[str, str, int]]
) -> None:
    names = Names(prefix=f"books{id(ops)}:")
    store = BlobStore(redis, names, budget=BlobBudget(per_user=64 * KB, total=100 * KB))
    held: dict[str, tuple[str, int]] = {}
    try:
        for op, owner, size in ops:
            if op == "put":
                with contextlib.suppress(OverBudget):
                    held[await store.put(b"h" * size, owner=owner)] = (owner, size)
            elif held:
                key = next(iter(held))
                await store.delete(key)
                del held[key]
            for sender in ("u1", "u2"):
                mine = sum(s for o, s in held.values() if o == sender)
                assert await store.usage(sender) == mine <= 64 * KB
            assert await store.usage() == sum(s for _, s in held.values()) <= 100 * KB
    finally:
        await store.delete(*held)


async def test_a_full_redis_still_lets_a_blob_go_with_its_bytes(full: aioredis.Redis) -> None:
    names = Names(prefix="full:")
    store = BlobStore(full, names, budget=BlobBudget(per_user=64 * 1024 * KB))
    await full.config_set("maxmemory", "32mb")
    key = await store.put(b"w" * 2 * 1024 * KB, owner="waiting")
    await full.config_set("maxmemory", "1mb")  # now over the limit: writes are refused
    with pytest.raises(RedisFull):
        await store.put(b"n" * KB, owner="next")
    await store.delete(key)  # the turn consumed it
    assert await store.usage() == 0 and not await full.exists(key)
