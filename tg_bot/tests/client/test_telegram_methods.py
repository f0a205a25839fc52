"""The client's newer methods against the stand-in, which answers them as Telegram does:
buttons and callback queries, topics, edits, drafts, files, voice and webhooks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramError,
    TelegramParseError,
    TelegramRetryAfter,
)
from tg_bot.src.clients.telegram import TelegramClient

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Snooze 10 min", "callback_data": "snooze:1:10"}],
        [{"text": "Done", "callback_data": "done:1"}, {"text": "Docs", "url": "https://x.org"}],
    ]
}
NOT_MODIFIED = "message is not modified"


@pytest.fixture
async def client(telegram: TelegramStandIn) -> AsyncIterator[TelegramClient]:
    async with TelegramClient(
        telegram.url, telegram.token, request_timeout=2.0, retries=1, retry_backoff_s=0.01
    ) as found:
        yield found


async def test_a_keyboard_and_a_topic_are_kept_on_the_message(client, telegram) -> None:
    sent = await client.send_message(
        -1005, "<b>Due</b>", reply_markup=KEYBOARD, message_thread_id=7
    )
    [record] = telegram.sent_to(-1005)
    assert (record.reply_markup, record.message_thread_id) == (KEYBOARD, 7)
    assert sent["reply_markup"] == KEYBOARD and sent["message_thread_id"] == 7


async def test_a_press_is_a_callback_query_the_client_answers_once(client, telegram) -> None:
    sent = await client.send_message(42, "Reminder", reply_markup=KEYBOARD)
    query_id = telegram.press(42, sent["message_id"], "Done")
    [update] = await client.get_updates(None, 0, 100, ["callback_query"])
    query = update.callback_query
    assert query is not None and (query.id, query.data) == (query_id, "done:1")
    assert query.message is not None and query.message.message_id == sent["message_id"]
    await client.answer_callback_query(query.id, text="Done ✓")
    assert telegram.buttons.answer_to(query_id)["text"] == "Done ✓"
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await client.answer_callback_query(query.id)


async def test_editing_text_and_keyboard_as_telegram_does(client, telegram) -> None:
    sent = await client.send_message(42, "Snooze?", reply_markup=KEYBOARD)
    edited = await client.edit_message_text(42, sent["message_id"], "<i>Snoozed</i>")
    record = telegram.sent_to(42)[0]
    assert (record.text, record.reply_markup) == ("Snoozed", None)  # no markup given: gone
    assert edited["message_id"] == sent["message_id"]
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await client.edit_message_text(42, sent["message_id"], "<i>Snoozed</i>")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await client.edit_message_text(42, 999, "anything")
    await client.edit_message_reply_markup(42, sent["message_id"], KEYBOARD)
    assert record.reply_markup == KEYBOARD
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await client.edit_message_reply_markup(42, sent["message_id"], KEYBOARD)
    await client.edit_message_reply_markup(42, sent["message_id"], None)
    assert record.reply_markup is None


async def test_drafts_are_recorded_per_chat_and_checked(client, telegram) -> None:
    await client.send_message_draft(42, 7, "<b>Wri</b>")
    await client.send_message_draft(42, 7, "<b>Writing</b>", message_thread_id=3)
    assert [(d.text, d.message_thread_id) for d in telegram.live.drafts_to(42)] == [
        ("Wri", None),
        ("Writing", 3),
    ]
    with pytest.raises(TelegramParseError):
        await client.send_message_draft(42, 7, "<b>open")
    with pytest.raises(TelegramBadRequest, match="private chats"):
        await client.send_message_draft(-100, 7, "groups get edits")


async def test_a_file_is_found_and_downloaded(client, telegram) -> None:
    data = bytes(range(256)) * 40
    held = telegram.register_file(data, kind="voice", file_name="v.oga", mime_type="audio/ogg")
    found = await client.get_file(held["file_id"])
    assert (found.file_id, found.file_size, found.file_path) == (
        held["file_id"],
        len(data),
        held["file_path"],
    )
    assert found.file_path and telegram.token not in found.file_path
    assert await client.download_file(found.file_path) == data
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await client.get_file("no-such-file")
    with pytest.raises(TelegramError) as missing:
        await client.download_file("voice/missing.oga")
    assert missing.value.status == 404 and telegram.token not in str(missing.value)


async def test_a_voice_goes_up_as_a_multipart_upload_with_its_caption(client, telegram) -> None:
    audio = b"OggS" + bytes(range(200))
    sent = await client.send_voice(
        42, audio, caption="<b>Your</b> answer", reply_markup=KEYBOARD, message_thread_id=4,
        reply_to_message_id=3,
    )  # fmt: skip
    [record] = telegram.sent_to(42)
    assert record.voice == audio and record.text == "Your answer"
    assert (record.reply_markup, record.message_thread_id, record.reply_to_message_id) == (
        KEYBOARD,
        4,
        3,
    )
    assert sent["voice"]["file_size"] == len(audio) and sent["caption"] == "Your answer"
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await client.send_voice(42, audio, caption="x" * 1025)


async def test_a_photo_goes_up_as_a_multipart_upload_and_must_be_a_picture(
    client, telegram
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(64)
    sent = await client.send_photo(42, picture, caption="<i>A cat</i>", reply_to_message_id=3)
    [record] = telegram.sent_to(42)
    assert (record.photo, record.text, record.reply_to_message_id) == (picture, "A cat", 3)
    assert sent["photo"][0]["file_size"] == len(picture) and sent["caption"] == "A cat"
    assert record.as_record()["photo"] == len(picture)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await client.send_photo(42, b"not a picture")


async def test_the_webhook_is_set_reported_and_deleted(client, telegram) -> None:
    await client.set_webhook("https://bot.example/hook", "s3cret", ["message", "callback_query"])
    info = await client.get_webhook_info()
    assert info["url"] == "https://bot.example/hook"
    await client.delete_webhook()
    assert (await client.get_webhook_info())["url"] == ""


async def test_the_generic_call_still_reaches_any_method(client, telegram) -> None:
    held = telegram.register_file(b"abc")
    raw = await client.call("getFile", {"file_id": held["file_id"]})
    assert raw["file_path"] == held["file_path"]


async def test_the_token_is_in_no_log_line_and_no_error(telegram, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with TelegramClient(telegram.url, telegram.token, retries=0) as client:
        await client.send_message(42, "hello")
        telegram.fail("sendMessage", status=500)
        with pytest.raises(TelegramError) as failed:
            await client.send_message(42, "hello")
        with pytest.raises(TelegramError) as missing:
            await client.download_file("nothing/here")
    assert telegram.token not in caplog.text
    assert telegram.token not in f"{failed.value!r} {missing.value!r}"
    assert "hello" not in caplog.text  # PTB's debug lines (every text sent) stay off


async def test_sends_edits_and_drafts_over_the_limits_are_counted(client, telegram) -> None:
    first = await client.send_message(42, "one")
    await client.edit_message_text(42, first["message_id"], "one, edited")  # an edit counts
    await client.send_message(43, "another chat is within its own limit")
    for i in range(21):
        await client.send_message_draft(42, 1, f"draft {i}")
    assert [(v.chat_id, v.rule) for v in telegram.rates.violations] == [
        (42, "chat"),
        (42, "drafts"),  # the 21st draft within 5 s
    ]


async def test_with_the_limits_enforced_a_send_too_soon_is_a_429(client, telegram) -> None:
    telegram.rates.enforce = True
    await client.send_message(42, "one")
    with pytest.raises(TelegramRetryAfter) as caught:
        await client.send_message(42, "too soon")
    assert caught.value.retry_after == 1
    assert len(telegram.sent_to(42)) == 1 and not telegram.rates.violations


async def test_the_control_api_presses_buttons_and_holds_files(client, telegram) -> None:
    sent = await client.send_message(42, "Pick", reply_markup=KEYBOARD)
    async with httpx.AsyncClient(base_url=telegram.url) as http:
        held = (await http.post("/control/files?kind=voice", content=b"OggS1")).json()
        pressed = await http.post(
            "/control/press", json={"chat_id": 42, "message_id": sent["message_id"],
                                    "button": "snooze:1:10"},
        )  # fmt: skip
        missing = await http.post(
            "/control/press", json={"chat_id": 42, "message_id": 99, "button": "x"}
        )
        listed = (await http.get("/control/sent", params={"chat_id": 42})).json()
    assert await client.download_file(held["file_path"]) == b"OggS1"
    [update] = telegram.updates
    assert update["callback_query"]["id"] == pressed.json()["callback_query_id"]
    assert update["callback_query"]["data"] == "snooze:1:10"
    assert missing.status_code == 404
    assert listed[0]["reply_markup"] == KEYBOARD
