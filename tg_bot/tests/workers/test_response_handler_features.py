"""Sending what answers carry besides text: buttons under the last part, forum topics,
edits of a message already sent, and speech as a voice message, each once."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.blobs import BlobStore
from common.messages import Button, OutgoingMessage
from tests.waiting import until
from tg_bot.src.domain.keyboards import keyboard
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


async def test_speech_goes_as_a_voice_with_the_text_as_caption_and_its_blob_is_deleted(
    run_bot, telegram, redis, names
) -> None:
    blobs = BlobStore(redis, names)
    key = await blobs.put(b"OggS-speech")
    message = answer(text="**Sunny**, 21°", voice_blob_key=key, buttons=BUTTONS,
                     reply_to_telegram_message_id=5)  # fmt: skip
    async with run_bot():
        await publish(redis, names, message)
        [voice] = await telegram.wait_sent(1, PRIVATE)
        await until(lambda: stream_empty(redis, names))
        await publish(redis, names, message)  # redelivered: nothing goes twice
        await until(lambda: stream_empty(redis, names))
    assert (voice.voice, voice.text, voice.reply_markup) == (b"OggS-speech", "Sunny, 21°", MARKUP)
    assert voice.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert voice.reply_to_message_id == 5
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

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batch=st.lists(answers, min_size=1, max_size=4))
    def check(batch: list[dict[str, Any]]) -> None:
        asyncio.run_coroutine_threadsafe(one(batch), loop).result(timeout=60)

    async with run_bot(SEND_LIMIT_CHAT_PER_SECOND="100", SEND_LIMIT_OVERALL_PER_SECOND="1000"):
        await asyncio.to_thread(check)
