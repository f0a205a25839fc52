"""Voice, audio, photos and documents: limits are checked from the message before anything
is fetched and answered politely; what fits is fetched into the blob store and queued with
its attachment; albums are one turn; whatever shape a media message has, the router answers
it or ignores it and goes on."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.blobs import DEFAULT_TTL_SECONDS, BlobStore
from common.infrastructure.redis_keys import TO_SECRETARY
from common.tests.strategies import any_text
from sandbox import telegram_updates as build
from tests.redis_topologies import full_redis
from tests.tiers import examples
from tests.waiting import until
from tg_bot.tests.conftest import incoming, outgoing


def someone(language: str = "en") -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), "Mia", username=f"u{uuid.uuid4().hex[:8]}",
                      language_code=language)  # fmt: skip


def a_group() -> dict[str, Any]:
    return build.group_chat(-random.randint(10**12, 10**13), "Team")


async def confirmed(redis, names, telegram, update_id: int) -> bool:
    offset = await redis.get(names.telegram_bot_offset(telegram.bot_id))
    return offset is not None and int(offset) > update_id


async def all_gathered_and_flushed(redis, names, telegram, last_update_id: int) -> bool:
    """Nothing more can come of the updates up to `last_update_id`: each was handled (the
    offset is past it) and no album is left gathering (the flush that queues one ends it)."""
    handled = await confirmed(redis, names, telegram, last_update_id)
    return handled and await redis.zcard(names.albums_due) == 0


async def answer_to(telegram, chat_id: int) -> str:
    [answer] = await telegram.wait_sent(1, chat_id)
    return answer.text


def with_file(update: dict[str, Any], field: str, **ref: Any) -> dict[str, Any]:
    update["message"][field] = ref
    return update


async def test_a_voice_message_over_the_limit_is_refused_before_any_download(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, olga = someone(), someone("ru")
    async with run_bot(VOICE_MAX_SECONDS="300"):
        telegram.inject(build.voice(build.private_chat(mia), mia, duration=301))
        telegram.inject(build.voice(build.private_chat(olga), olga, duration=3600))
        english = await answer_to(telegram, mia["id"])
        russian = await answer_to(telegram, olga["id"])
    assert "too long" in english and "5 min" in english
    assert "слишком длинное" in russian and "5 мин" in russian
    assert telegram.calls.get("getFile", 0) == 0
    assert await incoming(redis, names) == []


async def test_files_over_the_size_limits_are_refused_with_the_limit(
    run_bot, telegram, redis, names, rest_url
) -> None:
    doc, photo, audio = someone(), someone(), someone()
    big_document = with_file(
        build.message(build.private_chat(doc), doc), "document",
        file_id="BQAC-doc", file_unique_id="u-doc", file_name="a.pdf", file_size=2 * 1024**2,
    )  # fmt: skip
    big_photo = build.photo(build.private_chat(photo), photo)
    big_photo["message"]["photo"][-1]["file_size"] = 21 * 1024**2
    long_audio = with_file(
        build.message(build.private_chat(audio), audio), "audio",
        file_id="CQAC-audio", file_unique_id="u-audio", duration=90, file_size=1000,
    )  # fmt: skip
    async with run_bot(DOCUMENT_MAX_BYTES=str(1024**2), VOICE_MAX_SECONDS="75"):
        for update in (big_document, big_photo, long_audio):
            telegram.inject(update)
        too_big_document = await answer_to(telegram, doc["id"])
        too_big_photo = await answer_to(telegram, photo["id"])
        too_long_audio = await answer_to(telegram, audio["id"])
    assert "too big" in too_big_document and "1 MB" in too_big_document
    assert "too big" in too_big_photo and "20 MB" in too_big_photo
    assert "too long" in too_long_audio and "1 min 15 s" in too_long_audio
    assert telegram.calls.get("getFile", 0) == 0
    assert await incoming(redis, names) == []


async def test_the_limits_themselves_are_allowed(run_bot, telegram, redis, names, rest_url) -> None:
    mia, boris = someone(), someone()
    exactly = b"%PDF" + bytes(1020)  # 1024 bytes
    ref = telegram.register_file(exactly, kind="document", file_name="a.pdf")
    document = {"file_id": ref["file_id"], "file_unique_id": ref["file_unique_id"],
                "file_name": "a.pdf", "file_size": len(exactly)}  # fmt: skip
    async with run_bot(VOICE_MAX_SECONDS="60", DOCUMENT_MAX_BYTES="1024"):
        telegram.inject(voice_of(telegram, mia, b"OggS-minute", duration=60))
        telegram.inject(build.message(build.private_chat(boris), boris, document=document))
        queued = await until(lambda: _at_least(redis, names, 2))
    assert {m.chat_id for m in queued} == {mia["id"], boris["id"]}
    assert telegram.sent == []


async def test_a_file_without_a_usable_id_gets_a_polite_answer(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, boris = someone(), someone()
    no_id = with_file(build.message(build.private_chat(mia), mia), "voice", duration=3)
    blank = with_file(build.message(build.private_chat(boris), boris), "document", file_id=" ")
    async with run_bot():
        telegram.inject(no_id)
        telegram.inject(blank)
        assert "couldn't open" in await answer_to(telegram, mia["id"])
        assert "couldn't open" in await answer_to(telegram, boris["id"])
    assert await incoming(redis, names) == []


async def test_stickers_and_videos_keep_their_answers(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, boris = someone(), someone("ru")
    video = with_file(build.message(build.private_chat(boris), boris), "video",
                      file_id="BAAC", file_unique_id="v", duration=5)  # fmt: skip
    async with run_bot():
        telegram.inject(build.sticker(build.private_chat(mia), mia))
        telegram.inject(video)
        assert "sticker" in await answer_to(telegram, mia["id"])
        assert "Видео" in await answer_to(telegram, boris["id"])
    assert await incoming(redis, names) == []


async def test_group_media_counts_only_when_addressed(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, group = someone(), a_group()
    async with run_bot(VOICE_MAX_SECONDS="10"):
        quiet = telegram.inject(build.voice(group, mia, duration=30))
        await until(lambda: confirmed(redis, names, telegram, quiet))
        bot_said = build.private_text(mia, "hi")["message"]  # any message of the bot's
        bot_said.update(message_id=1, date=1, chat=group, **{"from": telegram.bot})
        telegram.inject(build.voice(group, mia, duration=30, reply_to=bot_said))
        answer = await answer_to(telegram, group["id"])
    assert "too long" in answer
    assert len(telegram.sent_to(group["id"])) == 1


# -- fetched and queued ------------------------------------------------------------------------


def voice_of(telegram, sender: dict[str, Any], data: bytes, duration: int = 4, **extra: Any):
    ref = telegram.register_file(data, kind="voice", mime_type="audio/ogg")
    voice = {"file_id": ref["file_id"], "file_unique_id": ref["file_unique_id"],
             "duration": duration, "mime_type": "audio/ogg", "file_size": len(data)}  # fmt: skip
    return build.message(build.private_chat(sender), sender, voice=voice, **extra)


def photo_of(telegram, chat: dict[str, Any], sender: dict[str, Any], data: bytes, **extra: Any):
    ref = telegram.register_file(data, kind="photo")
    small = {"file_id": "AgAC-thumb", "file_unique_id": "thumb", "width": 90, "height": 90}
    large = {"file_id": ref["file_id"], "file_unique_id": ref["file_unique_id"],
             "width": 800, "height": 600, "file_size": len(data)}  # fmt: skip
    return build.message(chat, sender, photo=[small, large], **extra)


async def test_a_voice_message_is_fetched_into_the_blob_store_and_queued(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    audio = b"OggS" + bytes(range(256)) * 20
    async with run_bot():
        update_id = telegram.inject(voice_of(telegram, mia, audio, duration=7))
        [message] = await until(lambda: incoming(redis, names))
    [attachment] = message.attachments
    assert (attachment.kind, attachment.mime_type, attachment.duration, attachment.size) == (
        "voice", "audio/ogg", 7, len(audio),
    )  # fmt: skip
    assert message.text == "" and str(update_id) in attachment.blob_key
    assert await BlobStore(redis, names).get(attachment.blob_key) == audio
    assert 0 < await redis.ttl(attachment.blob_key) <= DEFAULT_TTL_SECONDS
    assert telegram.sent_to(mia["id"]) == []


async def test_a_photo_and_a_document_are_queued_with_their_caption(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, boris = someone(), someone()
    picture = b"\xff\xd8\xff" + bytes(3000)
    pdf = b"%PDF-1.4 " + bytes(5000)
    ref = telegram.register_file(pdf, kind="document", file_name="q.pdf")
    document = {
        "file_id": ref["file_id"],
        "file_unique_id": ref["file_unique_id"],
        "file_name": "q.pdf",
        "mime_type": "application/pdf",
        "file_size": len(pdf),
    }
    async with run_bot():
        telegram.inject(photo_of(telegram, build.private_chat(mia), mia, picture,
                                 caption="what is on it?"))  # fmt: skip
        telegram.inject(build.message(build.private_chat(boris), boris, document=document,
                                      caption="sum it up"))  # fmt: skip
        queued = await until(lambda: _at_least(redis, names, 2))
    by_chat = {m.chat_id: m for m in queued}
    photo, doc = by_chat[mia["id"]], by_chat[boris["id"]]
    assert photo.text == "what is on it?" and photo.attachments[0].kind == "photo"
    assert photo.attachments[0].mime_type == "image/jpeg"
    assert await BlobStore(redis, names).get(photo.attachments[0].blob_key) == picture
    assert doc.text == "sum it up"
    [pdf_attachment] = doc.attachments
    assert (pdf_attachment.file_name, pdf_attachment.mime_type) == ("q.pdf", "application/pdf")


async def _at_least(redis, names, count: int) -> list[Any] | None:
    found = await incoming(redis, names)
    return found if len(found) >= count else None


async def test_a_redelivered_update_fetches_and_stores_its_file_once(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    await redis.set(names.stream(TO_SECRETARY), "not a stream")  # the commit fails: redelivery
    async with run_bot():
        update_id = telegram.inject(voice_of(telegram, mia, b"OggS-once"))

        async def retried() -> bool:
            return sum(1 for poll in telegram.polls if update_id in poll.returned) >= 3

        await until(retried)
        await redis.delete(names.stream(TO_SECRETARY))
        [message] = await until(lambda: incoming(redis, names))
    assert len(telegram.files.downloads) == 1
    assert telegram.calls.get("getFile") == 1
    assert await BlobStore(redis, names).get(message.attachments[0].blob_key) == b"OggS-once"


async def test_a_failing_download_is_retried_then_apologised_for(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, boris, olga = someone(), someone(), someone()
    async with run_bot(SEND_RETRIES="0"):
        telegram.fail("getFile", status=502, times=2)  # a passing outage: retried
        telegram.inject(voice_of(telegram, mia, b"OggS-late"))
        [late] = await until(lambda: incoming(redis, names))
        telegram.fail("getFile", status=502, times=50)  # down for good: an apology
        telegram.inject(voice_of(telegram, boris, b"OggS-never"))
        down = await answer_to(telegram, boris["id"])
        telegram.forced.clear()
        unknown = voice_of(telegram, olga, b"x")
        unknown["message"]["voice"]["file_id"] = "not-a-file-telegram-has"
        telegram.inject(unknown)
        refused = await answer_to(telegram, olga["id"])
    assert late.chat_id == mia["id"] and late.attachments
    assert "couldn't fetch your file" in down and "couldn't fetch your file" in refused
    assert [m.chat_id for m in await incoming(redis, names)] == [mia["id"]]


async def test_a_file_found_too_big_at_get_file_is_refused(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    update = voice_of(telegram, mia, b"OggS" + bytes(4000))
    del update["message"]["voice"]["file_size"]  # the message does not say
    async with run_bot(FILE_MAX_BYTES="2048"):
        telegram.inject(update)
        answer = await answer_to(telegram, mia["id"])
    assert "too big" in answer and "2 KB" in answer
    assert telegram.files.downloads == []


async def test_an_album_of_three_photos_is_one_message_with_three_attachments(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, group, boris = someone(), a_group(), someone()
    pictures = [bytes([n]) * 1000 for n in range(1, 4)]
    album = [photo_of(telegram, build.private_chat(mia), mia, data, media_group_id="alb-1",
                      **({"caption": "which is best?"} if n == 0 else {}))
             for n, data in enumerate(pictures)]  # fmt: skip
    mention = {"caption": f"@{telegram.bot_username} compare", "caption_entities": [
        {"type": "mention", "offset": 0, "length": len(telegram.bot_username) + 1}]}  # fmt: skip
    in_group = [photo_of(telegram, group, boris, data, media_group_id="alb-2",
                         **(mention if n == 0 else {}))
                for n, data in enumerate(pictures[:2])]  # fmt: skip
    async with run_bot(ALBUM_WAIT_SECONDS="0.5"):
        last = [telegram.inject(update) for update in album + in_group][-1]
        queued = await until(lambda: _at_least(redis, names, 2))
        await until(lambda: all_gathered_and_flushed(redis, names, telegram, last))
    assert len(await incoming(redis, names)) == 2
    by_chat = {m.chat_id: m for m in queued}
    private, grouped = by_chat[mia["id"]], by_chat[group["id"]]
    assert private.text == "which is best?" and len(private.attachments) == 3
    blobs = BlobStore(redis, names)
    assert [await blobs.get(a.blob_key) for a in private.attachments] == pictures
    assert grouped.text == "compare" and len(grouped.attachments) == 2
    assert telegram.sent == []


async def test_an_album_survives_its_process_stopping_between_parts(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    parts = [photo_of(telegram, build.private_chat(mia), mia, bytes([n]) * 500,
                      media_group_id="alb-3") for n in range(1, 4)]  # fmt: skip
    async with run_bot(ALBUM_WAIT_SECONDS="30"):
        first_two = [telegram.inject(part) for part in parts[:2]]
        await until(lambda: confirmed(redis, names, telegram, first_two[-1]))
    assert await incoming(redis, names) == []  # gathered, not yet due, and the process gone
    last = telegram.inject(parts[2])  # waits at Telegram for the next process
    # the newest part sets the album's due time: the next process's wait
    async with run_bot(ALBUM_WAIT_SECONDS="0.3"):
        [message] = await until(lambda: incoming(redis, names), timeout=15)
        await until(lambda: all_gathered_and_flushed(redis, names, telegram, last))
    assert len(message.attachments) == 3 and len(await incoming(redis, names)) == 1


# -- whatever shape a media message has --------------------------------------------------------

#: Replaced by the id of a file the stand-in holds.
REGISTERED = "<registered>"
GARBAGE = st.one_of(
    st.none(), st.integers(-(2**40), 2**40), any_text(12), st.lists(st.integers(), max_size=2),
    st.booleans(),
)  # fmt: skip
FILE_REF = st.fixed_dictionaries(
    {},
    optional={
        "file_id": st.one_of(st.just(REGISTERED), any_text(40), GARBAGE),
        "file_unique_id": st.one_of(any_text(20), GARBAGE),
        "file_size": st.one_of(st.integers(-5, 40 * 1024**2), GARBAGE),
        "duration": st.one_of(st.integers(-5, 10**6), GARBAGE),
        "mime_type": st.one_of(any_text(20), GARBAGE),
        "file_name": st.one_of(any_text(30), GARBAGE),
    },
)
MEDIA = st.fixed_dictionaries(
    {
        "field": st.sampled_from(["voice", "audio", "document", "photo", "video", "sticker"]),
        "ref": st.one_of(FILE_REF, GARBAGE, st.lists(FILE_REF, max_size=3)),
        "caption": st.one_of(st.none(), any_text(60)),
        "media_group_id": st.one_of(st.none(), st.just("album-x")),
    }
)


def with_registered(telegram, ref: Any) -> Any:
    """`ref` with the placeholder file ids made into files the stand-in holds."""
    if isinstance(ref, list):
        return [with_registered(telegram, item) for item in ref]
    if isinstance(ref, dict) and ref.get("file_id") == REGISTERED:
        return {**ref, "file_id": telegram.register_file(b"some bytes")["file_id"]}
    return ref


async def test_any_media_message_is_answered_or_ignored_and_the_next_goes_on(
    run_bot, telegram, redis, names, rest_url
) -> None:
    loop = asyncio.get_running_loop()
    marker_sender = someone()

    async def one(spec: dict[str, Any]) -> None:
        sender = someone()
        update = build.message(build.private_chat(sender), sender)
        update["message"][spec["field"]] = with_registered(telegram, spec["ref"])
        if spec["caption"] is not None:
            update["message"]["caption"] = spec["caption"]
        if spec["media_group_id"] is not None:
            update["message"]["media_group_id"] = f"{spec['media_group_id']}-{sender['id']}"
        telegram.inject(update)
        marker = f"marker {uuid.uuid4()}"
        telegram.inject(build.private_text(marker_sender, marker))

        async def marker_queued() -> bool:
            return any(m.text == marker for m in await incoming(redis, names))

        await until(marker_queued, timeout=30)

        async def heard_or_answered() -> list[Any]:
            heard = [m for m in await incoming(redis, names) if m.chat_id == sender["id"]]
            said = [m for m in await outgoing(redis, names) if m.chat_id == sender["id"]]
            return heard + said + telegram.sent_to(sender["id"])

        if spec["ref"] is not None:  # a field set to null is no media at all
            assert await until(heard_or_answered, timeout=10), f"no answer to {spec}"

    @settings(
        max_examples=examples(40),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec=MEDIA)
    def check(spec: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(one(spec), loop).result(timeout=60)

    async with run_bot(RATE_LIMIT_MESSAGES_PER_MINUTE="0", ALBUM_WAIT_SECONDS="0.2"):
        await until(lambda: telegram.calls.get("getUpdates"), timeout=30)
        await asyncio.to_thread(check)


def document_of(telegram, sender: dict[str, Any], data: bytes, name: str = "notes.txt"):
    ref = telegram.register_file(data, kind="document", file_name=name)
    document = {"file_id": ref["file_id"], "file_unique_id": ref["file_unique_id"],
                "file_name": name, "file_size": len(data)}  # fmt: skip
    return build.message(build.private_chat(sender), sender, document=document)


async def test_a_sender_over_their_blob_budget_is_told_and_nothing_is_stored(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    async with run_bot(BLOB_MAX_BYTES_PER_USER="3000", BLOB_MAX_BYTES_TOTAL="0"):
        telegram.inject(document_of(telegram, mia, b"first " * 300, "a.txt"))
        [first] = await until(lambda: _at_least(redis, names, 1))
        telegram.inject(document_of(telegram, mia, b"second " * 300, "b.txt"))
        refused = await answer_to(telegram, mia["id"])
    assert "waiting for me" in refused and "2 KB" in refused
    [queued] = await incoming(redis, names)  # the second was not queued, nor stored
    assert queued.attachments[0].file_name == "a.txt"
    assert await BlobStore(redis, names).usage(str(mia["id"])) == 1800
    await BlobStore(redis, names).delete(first.attachments[0].blob_key)


async def test_a_photo_declaring_a_pixel_flood_is_refused_before_any_download(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    flood = photo_of(telegram, build.private_chat(mia), mia, b"\xff\xd8\xff tiny")
    flood["message"]["photo"][-1].update(width=60_000, height=60_000)
    async with run_bot():
        telegram.inject(flood)
        assert "too many pixels" in await answer_to(telegram, mia["id"])
    assert telegram.calls.get("getFile", 0) == 0
    assert await incoming(redis, names) == []


@pytest.mark.e2e  # starts processes in its body
async def test_a_redis_full_for_a_file_gets_a_short_apology(
    run_bot, telegram, rest_url, tmp_path
) -> None:
    """Redis at its `maxmemory` (noeviction) refuses the file: the sender hears so, the bot
    goes on."""
    mia = someone()
    with full_redis(tmp_path, "12mb") as server:
        async with run_bot(REDIS_URL=server.url, FILE_MAX_BYTES=str(20 * 1024**2),
                           DOCUMENT_MAX_BYTES=str(20 * 1024**2)):  # fmt: skip
            telegram.inject(document_of(telegram, mia, b"x" * 14 * 1024**2, "big.txt"))
            answer = await answer_to(telegram, mia["id"])
            telegram.inject(build.message(build.private_chat(mia), mia, text="/help"))
            await telegram.wait_sent(2, mia["id"])  # still answering
    assert "storage is full" in answer


@pytest.mark.e2e  # starts processes in its body
async def test_a_redis_full_for_everything_tells_private_senders_once_then_catches_up(
    run_bot, telegram, rest_url, names, tmp_path
) -> None:
    """Nothing can be queued, not even a reply: after a while of refusals each private sender
    hears so straight from Telegram, once; when Redis has room again the message is queued."""
    mia = someone()
    with full_redis(tmp_path, "64mb") as server:
        client = aioredis.Redis.from_url(server.url)
        try:
            async with run_bot(REDIS_URL=server.url, REDIS_FULL_NOTICE_AFTER_SECONDS="0.5"):

                async def polling() -> bool:
                    return telegram.calls.get("getUpdates", 0) > 0

                await until(polling)  # it holds the poller lease
                await client.config_set("maxmemory", "1")  # every write refused from now
                telegram.inject(build.message(build.private_chat(mia), mia, text="hello there"))
                [told] = await telegram.wait_sent(1, mia["id"], timeout=30)
                assert "out of room" in told.text
                await client.config_set("maxmemory", "64mb")
                [queued] = await until(lambda: incoming(client, names), timeout=30)
            assert queued.text == "hello there"
            assert len(telegram.sent_to(mia["id"])) == 1  # told once
        finally:
            await client.aclose()


async def test_an_empty_file_gets_an_apology_and_nothing_is_queued(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    async with run_bot():
        telegram.inject(document_of(telegram, mia, b"", "empty.txt"))
        answer = await answer_to(telegram, mia["id"])
    assert "couldn't fetch your file" in answer
    assert await incoming(redis, names) == []


async def test_files_past_the_bots_total_budget_are_refused_as_storage_full(
    run_bot, telegram, redis, names, rest_url
) -> None:
    """Each sender is within their own budget; all senders' files together are not."""
    mia, boris = someone(), someone()
    async with run_bot(BLOB_MAX_BYTES_PER_USER="0", BLOB_MAX_BYTES_TOTAL="3000"):
        telegram.inject(document_of(telegram, mia, b"first " * 300, "a.txt"))
        [first] = await until(lambda: _at_least(redis, names, 1))
        telegram.inject(document_of(telegram, boris, b"second " * 300, "b.txt"))
        refused = await answer_to(telegram, boris["id"])
    assert "storage is full" in refused and "waiting for me" not in refused
    assert [m.chat_id for m in await incoming(redis, names)] == [mia["id"]]
    assert await BlobStore(redis, names).usage(str(boris["id"])) == 0
    await BlobStore(redis, names).delete(first.attachments[0].blob_key)


async def test_media_over_the_message_limit_is_told_to_slow_down_and_not_fetched(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia = someone()
    async with run_bot(RATE_LIMIT_MESSAGES_PER_MINUTE="1"):
        telegram.inject(voice_of(telegram, mia, b"OggS-one"))
        await until(lambda: _at_least(redis, names, 1))
        telegram.inject(voice_of(telegram, mia, b"OggS-two"))
        slow_down = await answer_to(telegram, mia["id"])
    assert "faster than I can read them" in slow_down
    assert len(await incoming(redis, names)) == 1
    assert len(telegram.files.downloads) == 1


async def test_a_file_whose_details_are_not_numbers_gets_a_polite_answer_and_no_download(
    run_bot, telegram, redis, names, rest_url
) -> None:
    mia, boris = someone(), someone()
    voice = voice_of(telegram, mia, b"OggS-odd")
    voice["message"]["voice"]["file_size"] = "lots"
    photo = photo_of(telegram, build.private_chat(boris), boris, b"\xff\xd8\xff odd")
    photo["message"]["photo"][-1]["width"] = "wide"
    async with run_bot():
        telegram.inject(voice)
        telegram.inject(photo)
        assert "couldn't open" in await answer_to(telegram, mia["id"])
        assert "couldn't open" in await answer_to(telegram, boris["id"])
    assert await incoming(redis, names) == []
    assert telegram.files.downloads == []
