"""A turn's files in Redis: stored with a TTL, read back whole, deleted, and nothing else."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.blobs import BlobBudget, BlobStore
from common.infrastructure.redis_keys import Names


async def test_a_blob_is_kept_for_its_ttl_and_read_back_whole(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names, ttl_seconds=60)
    key = await store.put(b"\x00OggS\xff" * 1000)
    assert await store.get(key) == b"\x00OggS\xff" * 1000
    assert 0 < await redis.ttl(key) <= 60
    await store.delete(key)
    assert await store.get(key) is None


async def test_a_derived_id_stores_a_redelivered_file_once(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names)
    assert await store.put(b"one", "update-7-file-a") == await store.put(b"one", "update-7-file-a")


async def test_a_queue_entry_cannot_make_the_store_touch_other_keys(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names)
    offset = names.key("tg_bot:offset:1")
    await redis.set(offset, b"42")
    assert await store.get(offset) is None
    await store.delete(offset, "blob:../../x")
    assert await redis.get(offset) == b"42"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(max_size=80))
async def test_any_key_from_outside_reads_nothing_or_a_blob(
    redis: aioredis.Redis, names: Names, key: str
) -> None:
    data = await BlobStore(redis, names).get(key)
    assert data is None or key.startswith(names.blob(""))


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=0, max_value=5000), chunk=st.integers(min_value=1, max_value=2000)
)
async def test_a_blob_read_in_chunks_is_the_blob(
    redis: aioredis.Redis, names: Names, size: int, chunk: int
) -> None:
    store = BlobStore(redis, names)
    data = bytes(i % 251 for i in range(size))
    key = await store.put(data)
    assert b"".join([part async for part in store.chunks(key, chunk)]) == data
    assert await store.size(key) == size
    await store.delete(key)
    assert [part async for part in store.chunks(key, chunk)] == [] and await store.size(key) == 0


async def test_keys_from_outside_have_no_size_and_no_chunks(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names)
    offset = names.key("tg_bot:offset:1")
    await redis.set(offset, b"a secret of 26 characters!")
    assert await store.size(offset) == 0
    assert [part async for part in store.chunks(offset)] == []


async def test_a_client_that_decodes_answers_still_reads_bytes(
    redis_url: str, names: Names
) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        store = BlobStore(client, names)
        key = await store.put("привет".encode())
        assert await store.get(key) == "привет".encode()
    finally:
        await client.aclose()


async def test_a_write_refused_for_another_reason_than_memory_is_raised_and_unbooked(
    redis: aioredis.Redis, names: Names
) -> None:
    store = BlobStore(redis, names, ttl_seconds=0)  # Redis refuses an expiry of 0
    with pytest.raises(aioredis.ResponseError, match="expire"):
        await store.put(b"voice", "refused", owner="ann")
    assert not await redis.exists(names.blob("refused"))
    assert await store.usage("ann") == 0


async def test_damaged_budget_books_refuse_the_file_instead_of_ignoring_the_budget(
    redis: aioredis.Redis, names: Names
) -> None:
    await redis.set(names.blob_budget("owners"), b"not a hash")
    store = BlobStore(redis, names, budget=BlobBudget(per_user=1024))
    with pytest.raises(aioredis.ResponseError, match="WRONGTYPE"):
        await store.put(b"x" * 4096, "over", owner="ann")
    assert not await redis.exists(names.blob("over"))
