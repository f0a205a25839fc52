"""Albums are one turn: parts gathered in Redis, flushed once by whichever process is alive,
however many flush at the same time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from common.infrastructure.queue_messages import (
    Attachment,
    AttachmentKind,
    IncomingMessage,
    incoming_message_id,
)
from tests.waiting import until
from tg_bot.src.domain.albums import AlbumStore, album_message_id
from tg_bot.tests.conftest import incoming

CHAT = 4242
USER = uuid.uuid4()


def part(update_id: int, telegram_message_id: int, caption: str = "") -> IncomingMessage:
    return IncomingMessage(
        message_id=incoming_message_id(1, update_id),
        chat_id=CHAT,
        user_id=USER,
        text=caption,
        telegram_message_id=telegram_message_id,
        sent_at=datetime.now(UTC),
        attachments=[Attachment(kind=AttachmentKind.PHOTO, blob_key=f"blob:{update_id}", size=10)],
    )


async def album_due(redis, names) -> bool:
    """Whether an album's due time has passed on the clock the store reads (Redis TIME)."""
    seconds, micros = await redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    return bool(await redis.zrangebyscore(names.albums_due, "-inf", now_ms, start=0, num=1))


def store(redis, names, wait: float = 0.2) -> AlbumStore:
    return AlbumStore(redis, names, wait_seconds=wait, typing_ttl_seconds=60)


async def test_three_photos_become_one_message_with_three_attachments(redis, names) -> None:
    albums = store(redis, names, wait=0.5)
    for n, caption in ((3, ""), (1, "what are these?"), (2, "")):
        assert await albums.add(part(100 + n, n, caption), "g1")
    assert await albums.gathering(CHAT, "g1")
    assert await albums.flush_due() == []  # not due yet
    await until(lambda: album_due(redis, names), 5, "the album due")
    [flushed] = await albums.flush_due()
    [message] = await incoming(redis, names)
    assert message == flushed.message and flushed.parts == 3
    assert message.text == "what are these?"
    assert [a.blob_key for a in message.attachments] == ["blob:101", "blob:102", "blob:103"]
    assert message.message_id == album_message_id(incoming_message_id(1, 101))
    assert not await albums.gathering(CHAT, "g1")
    assert await redis.zscore(names.telegram_typing(CHAT), str(message.message_id))


async def test_a_part_arriving_late_pushes_the_due_time_back(redis, names) -> None:
    albums = store(redis, names, wait=0.5)
    await albums.add(part(1, 1), "g2")
    await until(lambda: album_due(redis, names), 5, "the first part alone due")
    await albums.add(part(2, 2), "g2")
    assert await albums.flush_due() == []
    await until(lambda: album_due(redis, names), 5, "the album due")
    [flushed] = await albums.flush_due()
    assert flushed.parts == 2


async def test_racing_flushers_queue_an_album_once(redis, names) -> None:
    gatherer = store(redis, names, wait=0.05)
    for n in range(1, 4):
        await gatherer.add(part(200 + n, n), "g3")
    await until(lambda: album_due(redis, names), 5, "the album due")
    flushers = [store(redis, names, wait=0.05) for _ in range(6)]  # six processes
    results = await asyncio.gather(*(f.flush_due() for f in flushers for _ in range(5)))
    assert sum(len(r) for r in results) == 1
    [message] = await incoming(redis, names)
    assert len(message.attachments) == 3


async def test_a_redelivered_part_is_not_queued_again_and_a_new_part_is_a_new_turn(
    redis, names
) -> None:
    albums = store(redis, names, wait=0.05)
    await albums.add(part(301, 1, "first"), "g4")
    await until(lambda: album_due(redis, names), 5, "the album due")
    [first] = await albums.flush_due()
    assert not await albums.add(part(301, 1, "first"), "g4")  # Telegram sent it again
    assert await albums.add(part(305, 2, "late"), "g4")
    await until(lambda: album_due(redis, names), 5, "the album due")
    [second] = await albums.flush_due()
    assert second.message.message_id != first.message.message_id
    assert [m.text for m in await incoming(redis, names)] == ["first", "late"]


async def test_a_part_added_after_a_flush_read_it_waits_for_the_next_flush(redis, names) -> None:
    """The flush checks the album's version in the same step as it queues."""
    albums = store(redis, names, wait=0.05)
    await albums.add(part(401, 1), "g5")
    await until(lambda: album_due(redis, names), 5, "the album due")
    key = names.album(CHAT, "g5")
    original = redis.hgetall

    async def read_then_add(name):  # another part lands between the read and the queueing
        found = await original(name)
        await albums.add(part(402, 2), "g5")
        return found

    redis.hgetall = read_then_add
    try:
        assert await albums.flush(key) is None
    finally:
        redis.hgetall = original
    await until(lambda: album_due(redis, names), 5, "the album due")
    [flushed] = await albums.flush_due()
    assert flushed.parts == 2


async def test_an_album_whose_parts_expired_unflushed_is_dropped_and_queues_nothing(
    redis, names
) -> None:
    """Every process down past the parts' lifetime: the album left on the schedule is taken
    off it, and no empty message goes to the assistant."""
    albums = AlbumStore(redis, names, wait_seconds=0.2, typing_ttl_seconds=60, ttl_seconds=1)
    assert await albums.add(part(900, 1, "lost?"), "g9")
    key = names.album(CHAT, "g9")

    async def expired() -> bool:
        return not await redis.exists(key)

    await until(expired, 10, "the album's parts expired")
    await until(lambda: album_due(redis, names), 5, "the album due")
    assert await albums.flush_due() == []
    assert await redis.zscore(names.albums_due, key) is None
    assert await incoming(redis, names) == []
