"""Sending what answers carry besides text: buttons under the last part, forum topics,
edits of a message already sent, a picture drawn as a photo and speech as a voice message, each
once."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.blobs import BlobStore
from common.infrastructure.queue_messages import Button, OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM
from sandbox.telegram_errors import BotApiError
from tests.tiers import examples
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.keyboards import keyboard
from tg_bot.src.domain.live_answers import live_key
from tg_bot.tests.workers.test_response_handler import publish, stream_empty

PRIVATE, GROUP = 1001, -100555
BUTTONS = [[Button(text="Snooze 10 min", data="snooze:1:10")], [Button(text="Done", data="done:1")]]
MARKUP = {
    "inline_keyboard": [
        [{"text": "Snooze 10 min", "callback_data": "snooze:1:10"}],
        [{"text": "Done", "callback_data": "done:1"}],
    ]
}
LONG = "\n\n".join(f"Paragraph {i}. " + "word " * 700 for i in range(3))


def answer(chat_id: int = PRIVATE, text: str = "Hi", **extra) -> OutgoingMessage:
    return OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat_id, text=text, **extra)


async def test_buttons_go_under_the_last_part_only(run_bot, telegram, redis, names) -> None:
    async with run_bot():
        await publish(redis, names, answer(text=LONG, buttons=BUTTONS))
        parts = await telegram.wait_sent(3, PRIVATE)
    assert [p.reply_markup for p in parts] == [None, None, MARKUP]


async def test_every_part_stays_in_the_topic(run_bot, telegram, redis, names) -> None:
    async with run_bot():
        await publish(redis, names, answer(GROUP, LONG, message_thread_id=77))
        parts = await telegram.wait_sent(3, GROUP)
    assert [p.message_thread_id for p in parts] == [77, 77, 77]


async def test_an_edit_changes_the_message_and_its_buttons(run_bot, telegram, redis, names) -> None:
    async with run_bot():
        await publish(redis, names, answer(text="⏰ water the plants", buttons=BUTTONS))
        [first] = await telegram.wait_sent(1, PRIVATE)
        done = answer(text="⏰ water the plants ✓", edit_telegram_message_id=first.message_id)
        await publish(redis, names, done)
        await until(lambda: _text_is(telegram, first, "⏰ water the plants ✓"))
        same = answer(text="⏰ water the plants ✓", edit_telegram_message_id=first.message_id)
        await publish(redis, names, same)  # "message is not modified": done, not an error
        await until(lambda: stream_empty(redis, names))
    assert len(telegram.sent_to(PRIVATE)) == 1
    assert first.reply_markup is None  # the buttons went with the edit
    assert not await redis.xlen(names.dead("queue:to_telegram"))


async def test_an_edit_of_a_long_answer_edits_the_first_part_and_sends_the_rest(
    run_bot, telegram, redis, names
) -> None:
    async with run_bot():
        await publish(redis, names, answer(text="thinking…"))
        [first] = await telegram.wait_sent(1, PRIVATE)
        await publish(
            redis, names, answer(text=LONG, edit_telegram_message_id=first.message_id,
                                 buttons=BUTTONS),
        )  # fmt: skip
        parts = await telegram.wait_sent(3, PRIVATE)
    assert first.text.startswith("Paragraph 0") and first.reply_markup is None
    assert [p.text.split(".")[0] for p in parts[1:]] == ["Paragraph 1", "Paragraph 2"]
    assert parts[-1].reply_markup == MARKUP


async def test_an_edit_of_a_message_that_is_gone_is_sent_anew(
    run_bot, telegram, redis, names
) -> None:
    async with run_bot():
        await publish(redis, names, answer(text="Cancelled", edit_telegram_message_id=4242))
        [sent] = await telegram.wait_sent(1, PRIVATE)
    assert sent.text == "Cancelled"
    assert [r.description for r in telegram.rejected] == ["Bad Request: message to edit not found"]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


@pytest.mark.parametrize(
    ("field", "data"),
    [("voice_blob_key", b"OggS-speech"), ("photo_blob_key", PNG)],
    ids=["speech as a voice", "a picture drawn as a photo"],
)
async def test_a_file_goes_with_the_text_as_caption_once_and_its_blob_is_deleted(
    run_bot, telegram, redis, names, field: str, data: bytes
) -> None:
    blobs = BlobStore(redis, names)
    key = await blobs.put(data)
    message = answer(text="**Sunny**, 21°", buttons=BUTTONS, reply_to_telegram_message_id=5)
    message = message.model_copy(update={field: key})
    async with run_bot():
        await publish(redis, names, message)
        [sent] = await telegram.wait_sent(1, PRIVATE)
        await until(lambda: stream_empty(redis, names))
        await publish(redis, names, message)  # redelivered: nothing goes twice
        await until(lambda: stream_empty(redis, names))
    carried = sent.voice if field == "voice_blob_key" else sent.photo
    assert (carried, sent.text, sent.reply_markup) == (data, "Sunny, 21°", MARKUP)
    assert sent.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert sent.reply_to_message_id == 5
    assert len(telegram.sent_to(PRIVATE)) == 1
    assert await blobs.get(key) is None


async def test_speech_with_a_text_too_long_for_a_caption_goes_first_then_the_text(
    run_bot, telegram, redis, names
) -> None:
    key = await BlobStore(redis, names).put(b"OggS-long")
    async with run_bot():
        await publish(redis, names, answer(text="word " * 300, voice_blob_key=key, buttons=BUTTONS))
        voice, text = await telegram.wait_sent(2, PRIVATE)
    assert (voice.voice, voice.text, voice.reply_markup) == (b"OggS-long", "", None)
    assert text.voice is None and text.text.startswith("word") and text.reply_markup == MARKUP


async def test_speech_whose_blob_expired_leaves_the_text(run_bot, telegram, redis, names) -> None:
    async with run_bot():
        await publish(redis, names, answer(text="Here it is", voice_blob_key=names.blob("gone")))
        [sent] = await telegram.wait_sent(1, PRIVATE)
    assert (sent.voice, sent.text) == (None, "Here it is")


async def test_a_picture_and_speech_go_photo_first_and_the_caption_once(
    run_bot, telegram, redis, names
) -> None:
    blobs = BlobStore(redis, names)
    picture, speech = await blobs.put(PNG), await blobs.put(b"OggS-both")
    async with run_bot():
        await publish(
            redis, names, answer(text="Your cat", photo_blob_key=picture, voice_blob_key=speech)
        )
        photo, voice = await telegram.wait_sent(2, PRIVATE)
    assert (photo.photo, photo.text) == (PNG, "Your cat")
    assert (voice.voice, voice.text) == (b"OggS-both", "")


async def test_a_picture_whose_blob_expired_leaves_the_caption_to_the_voice(
    run_bot, telegram, redis, names
) -> None:
    speech = await BlobStore(redis, names).put(b"OggS-left")
    async with run_bot():
        message = answer(text="Your cat", photo_blob_key=names.blob("gone"), voice_blob_key=speech)
        await publish(redis, names, message)
        [voice] = await telegram.wait_sent(1, PRIVATE)
    assert (voice.voice, voice.text, voice.photo) == (b"OggS-left", "Your cat", None)


async def _text_is(telegram, message, text: str) -> bool:
    return message.text == text


WORDS = ["alpha", "beta", "gamma", "delta", "word", "Привет", "\n\n"]
#: Up to three parts: a length drawn first, so long answers are as likely as short ones.
words = (
    st.integers(1, 1600)
    .flatmap(lambda n: st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))
    .map(" ".join)
    .filter(lambda text: text.strip() != "")
)
buttons = st.lists(
    st.lists(
        st.builds(
            Button,
            text=st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12),
            data=st.text("abcdefghij:0123456789", min_size=1, max_size=64),
        ),
        min_size=1, max_size=3,
    ),
    max_size=3,
)  # fmt: skip
answers = st.fixed_dictionaries(
    {"text": words, "buttons": buttons},
    optional={
        "message_thread_id": st.integers(1, 10**6),
        "voice": st.binary(min_size=1, max_size=64),
    },
)


async def test_any_answer_arrives_whole_with_buttons_last_and_in_its_topic(
    run_bot, telegram, redis, names
) -> None:
    """One bot for all examples; hypothesis runs in a worker thread and drives Redis and the
    stand-in on the test's event loop (as the receiver's property test does)."""
    loop = asyncio.get_running_loop()
    blobs = BlobStore(redis, names)
    chats = itertools.count(5000)

    async def one(batch: list[dict[str, Any]]) -> None:
        messages = []
        for drawn in batch:
            key = await blobs.put(drawn["voice"]) if "voice" in drawn else None
            messages.append(answer(
                next(chats), drawn["text"], buttons=drawn["buttons"], voice_blob_key=key,
                message_thread_id=drawn.get("message_thread_id"),
            ))  # fmt: skip
        await publish(redis, names, *messages)
        await until(lambda: stream_empty(redis, names), timeout=30)
        for drawn, message in zip(batch, messages, strict=True):
            sent = telegram.sent_to(message.chat_id)
            assert sent and all(m.message_thread_id == message.message_thread_id for m in sent)
            assert [m.reply_markup for m in sent[:-1]] == [None] * (len(sent) - 1)
            assert sent[-1].reply_markup == keyboard(message.buttons)
            voices = [m.voice for m in sent if m.voice is not None]
            if message.voice_blob_key is not None:
                assert voices == [drawn["voice"]] and sent[0].voice is not None
                assert await blobs.get(message.voice_blob_key) is None
            else:
                assert voices == []
            said = "".join(m.text for m in sent)
            assert re.sub(r"\s", "", said) == re.sub(r"\s", "", message.text)
        assert not telegram.rejected

    @settings(
        max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(batch=st.lists(answers, min_size=1, max_size=4))
    def check(batch: list[dict[str, Any]]) -> None:
        asyncio.run_coroutine_threadsafe(one(batch), loop).result(timeout=60)

    async with run_bot(SEND_LIMIT_CHAT_PER_SECOND="100", SEND_LIMIT_OVERALL_PER_SECOND="1000"):
        await asyncio.to_thread(check)


PARSE_ERROR = "Bad Request: can't parse entities: unsupported start tag"


async def test_an_answer_with_nothing_to_show_sends_nothing_and_is_acked(
    run_bot, telegram, redis, names
) -> None:
    async with run_bot():
        await publish(redis, names, answer(text="  \n "), answer(text="after it"))
        [sent] = await telegram.wait_sent(1, PRIVATE)
        await until(lambda: stream_empty(redis, names))
    assert sent.text == "after it"
    assert not await redis.xlen(names.dead(TO_TELEGRAM))


async def test_the_final_answer_edits_the_group_message_its_drafts_were_shown_in(
    run_bot, telegram, redis, names
) -> None:
    final = answer(GROUP, "The **whole** answer")
    async with TelegramClient(telegram.url, telegram.token) as client:
        shown = await client.send_message(GROUP, "The wh…")
    await redis.hset(
        live_key(names, str(final.message_id)), "telegram_message_id", shown["message_id"]
    )
    async with run_bot():
        await publish(redis, names, final)
        await until(lambda: telegram.live.edits_in(GROUP))
    [message] = telegram.sent_to(GROUP)
    assert message.message_id == shown["message_id"] and message.text == "The whole answer"


async def test_an_edit_in_markup_telegram_refuses_is_made_in_plain_text(
    run_bot, telegram, redis, names
) -> None:
    async with TelegramClient(telegram.url, telegram.token) as client:
        old = await client.send_message(PRIVATE, "Reminder at 5")
    telegram.fail("editMessageText", status=400, description=PARSE_ERROR)
    async with run_bot():
        await publish(
            redis, names, answer(text="**Cancelled**", edit_telegram_message_id=old["message_id"])
        )
        await until(lambda: telegram.live.edits_in(PRIVATE))
    [message] = telegram.sent_to(PRIVATE)
    assert (message.text, message.parse_mode) == ("Cancelled", None)


async def test_an_edit_telegram_refuses_for_another_reason_is_tried_again(
    run_bot, telegram, redis, names
) -> None:
    async with TelegramClient(telegram.url, telegram.token) as client:
        old = await client.send_message(PRIVATE, "Reminder at 5")
    telegram.fail("editMessageText", status=400, description="Bad Request: odd")
    async with run_bot():
        await publish(redis, names, answer(text="Done", edit_telegram_message_id=old["message_id"]))
        await until(lambda: telegram.live.edits_in(PRIVATE))
    assert [m.text for m in telegram.sent_to(PRIVATE)] == ["Done"]
    assert [r.description for r in telegram.rejected] == ["Bad Request: odd"]


async def test_a_caption_telegram_refuses_goes_with_the_voice_as_plain_text(
    run_bot, telegram, redis, names
) -> None:
    key = await BlobStore(redis, names).put(b"OggS-caption")
    telegram.fail("sendVoice", status=400, description=PARSE_ERROR)
    async with run_bot():
        await publish(redis, names, answer(text="**Sunny**", voice_blob_key=key))
        [voice] = await telegram.wait_sent(1, PRIVATE)
    assert (voice.voice, voice.text, voice.parse_mode) == (b"OggS-caption", "Sunny", None)


async def test_a_voice_already_out_is_not_sent_again_when_the_text_after_it_is_retried(
    run_bot, telegram, redis, names
) -> None:
    blobs = BlobStore(redis, names)
    key = await blobs.put(b"OggS-once")
    telegram.fail("sendMessage", status=502, chat_id=PRIVATE)
    async with run_bot(SEND_RETRIES="0"):  # the entry itself is handled again
        await publish(redis, names, answer(text="word " * 300, voice_blob_key=key))
        voice, text = await telegram.wait_sent(2, PRIVATE)
        await until(lambda: stream_empty(redis, names))
    assert voice.voice == b"OggS-once" and text.voice is None
    assert [r.status for r in telegram.rejected] == [502]
    assert await blobs.get(key) is None


async def test_an_answer_to_a_group_that_removed_the_bot_is_dropped_without_blocking_anyone(
    run_bot, telegram, redis, names
) -> None:
    telegram.fail("sendMessage", status=403, description="Forbidden: bot was kicked", chat_id=GROUP)
    async with run_bot():
        await publish(redis, names, answer(GROUP, "Hello team"), answer(text="Still here"))
        await telegram.wait_sent(1, PRIVATE)
        await until(lambda: stream_empty(redis, names))
    assert telegram.sent_to(GROUP) == []
    assert not await redis.xlen(names.dead(TO_TELEGRAM))


async def test_an_answer_to_a_group_that_became_a_supergroup_goes_to_the_supergroup(
    run_bot, telegram, redis, names
) -> None:
    old_group, supergroup = -4555, -100_4555
    accept = telegram._send_message

    async def upgraded(params: dict[str, Any]) -> dict[str, Any]:
        if int(params["chat_id"]) == old_group:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": supergroup},
            )
        return await accept(params)

    telegram._send_message = upgraded
    async with run_bot():
        await publish(redis, names, answer(old_group, "Hello team"))
        [sent] = await telegram.wait_sent(1, supergroup)
    assert sent.text == "Hello team"


SHARE = "📱 Share my phone number"
PHONE_KEYBOARD = {
    "keyboard": [[{"text": SHARE, "request_contact": True}]],
    "one_time_keyboard": True,
    "resize_keyboard": True,
}


async def test_an_answer_asking_for_the_number_shows_the_phone_keyboard_once(
    run_bot, telegram, redis, names
) -> None:
    """Only under the last part; inline buttons win (a message carries one keyboard); an edit
    carries inline buttons only, so a finished draft (a streamed answer) is followed by one
    short message that carries the keyboard: without it the customer never saw the button."""
    async with run_bot():
        await publish(redis, names, answer(text=LONG, request_phone=SHARE))
        parts = await telegram.wait_sent(3, PRIVATE)
        await publish(redis, names, answer(GROUP, "Hi", request_phone=SHARE, buttons=BUTTONS))
        [with_buttons] = await telegram.wait_sent(1, GROUP)
        edited = answer(
            text="Call us?", request_phone=SHARE, edit_telegram_message_id=parts[0].message_id
        )
        await publish(redis, names, edited)
        await until(lambda: _text_is(telegram, parts[0], "Call us?"))
        [*_, follow_up] = await telegram.wait_sent(4, PRIVATE)
    assert (follow_up.text, follow_up.reply_markup) == (SHARE, PHONE_KEYBOARD)
    assert [p.reply_markup for p in parts[:2]] == [None, None]
    assert parts[2].reply_markup == PHONE_KEYBOARD
    assert with_buttons.reply_markup == MARKUP
    assert not await redis.xlen(names.dead("queue:to_telegram"))
