"""The WhatsApp adapter against the Graph API stand-in and a real Redis, in this process: the
webhook's handshake and signature, statuses kept beside our answers, what is answered here
rather than queued (stickers, files that cannot be taken) and what waits for WhatsApp's next
delivery, and every way a send ends (sent, limited, refused, outside the 24-hour window, half
sent and retried, WhatsApp unreachable or answering what it does not document)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from fastapi import FastAPI
from structlog.testing import capture_logs

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.whatsapp import WhatsAppAdapter
from channels.src.adapters.whatsapp.media import MediaIntake, Refused
from channels.src.adapters.whatsapp.webhook import parse
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.features.blobs import BlobBudget, BlobStore
from common.features.texts import TEXTS
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.queue_messages import Button, OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from sandbox.server import ScriptedServer
from sandbox.whatsapp_api import WhatsAppStandIn, audio, document, image, text
from tests.waiting import until

PERSON = "4915112345678"
#: Nothing listens there: a connection is refused at once.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
async def api() -> AsyncIterator[WhatsAppStandIn]:
    stand_in = WhatsAppStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


class Rig:
    def __init__(self, adapter: WhatsAppAdapter, api: WhatsAppStandIn, app: FastAPI) -> None:
        self.adapter, self.api, self.app = adapter, api, app
        self.redis, self.names = adapter.context.redis, adapter.context.names

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url="http://wa")

    async def open_window(self) -> None:
        self.api.windows[PERSON] = time.monotonic()
        key = self.names.whatsapp_window(self.api.phone_number_id, PERSON)
        await self.redis.set(key, "now", ex=3600)

    async def post(self, payload: Any) -> httpx.Response:
        """`payload` delivered to the webhook as WhatsApp does, signed (no retry)."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        async with self.http() as http:
            return await http.post(
                "/whatsapp/webhook",
                content=raw,
                headers={"X-Hub-Signature-256": self.api.sign(raw)},
            )

    async def from_person(self, content: dict[str, Any], **options: Any) -> tuple[str, int]:
        """`content` sent by PERSON: its wamid, and the webhook's answer's status."""
        payload = self.api.message(PERSON, "Ana", content, **options)
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        return wamid, (await self.post(payload)).status_code


def answer(text_: str, **fields: Any) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=channel_chat_number(Channel.WHATSAPP, PERSON),
        text=text_, channel=Channel.WHATSAPP, channel_chat_id=PERSON, **fields,
    )  # fmt: skip


def _settings(api: WhatsAppStandIn, **values: Any) -> Settings:
    given = {k.lower(): v for k, v in api.settings().items()}
    return Settings(_env_file=None, environment="test", **{**given, **values})


@pytest.fixture
async def rig(api: WhatsAppStandIn, redis: aioredis.Redis, names: Names) -> AsyncIterator[Rig]:
    rig = await _rig(api, redis, names, _settings(api))
    yield rig
    await rig.adapter.stop()


async def _rig(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names, settings: Settings
) -> Rig:
    rest = RestClient("http://127.0.0.1:9", "unused")  # these tests queue nothing
    adapter = WhatsAppAdapter(
        AdapterContext(settings, redis, names, Intake(rest, redis, names), rest)
    )
    await adapter.start()
    app = FastAPI()
    app.include_router(adapter.router)
    return Rig(adapter, api, app)


# -- the webhook ------------------------------------------------------------------------------


async def test_the_handshake_echoes_the_challenge_for_the_verify_token_only(rig: Rig) -> None:
    def handshake(token: str) -> dict[str, str]:
        return {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}

    async with rig.http() as http:
        ok = await http.get("/whatsapp/webhook", params=handshake("wa-verify"))
        wrong = await http.get("/whatsapp/webhook", params=handshake("guess"))
        bare = await http.get("/whatsapp/webhook")
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403 and bare.status_code == 403


async def test_a_body_without_the_app_secrets_signature_is_401(rig: Rig) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    async with rig.http() as http:
        forged = await http.post("/whatsapp/webhook", content=body, headers={
            "X-Hub-Signature-256": rig.api.sign(body, "another-secret")})  # fmt: skip
        unsigned = await http.post("/whatsapp/webhook", content=body)
        signed = await http.post("/whatsapp/webhook", content=body, headers={
            "X-Hub-Signature-256": rig.api.sign(body)})  # fmt: skip
    assert forged.status_code == 401 and unsigned.status_code == 401
    assert signed.status_code == 200


async def test_statuses_are_kept_beside_the_answer_they_are_about(rig: Rig) -> None:
    await rig.open_window()
    sent = answer("hello")
    await rig.adapter.send(sent)
    [out] = rig.api.sent_to(PERSON)
    key = rig.names.whatsapp_sent(out.wamid)
    assert await rig.redis.hget(key, "message_id") == str(sent.message_id).encode()
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    body = rig.api.status(out.wamid, "failed", PERSON, errors)
    async with rig.http() as http:
        raw = json.dumps(body).encode()
        answered = await http.post("/whatsapp/webhook", content=raw,
                                   headers={"X-Hub-Signature-256": rig.api.sign(raw)})  # fmt: skip
    assert answered.status_code == 200
    assert await rig.redis.hget(key, "status") == b"failed"
    assert await rig.redis.hget(key, "errors") == b"131026: Message undeliverable"


# -- sending ----------------------------------------------------------------------------------


async def test_an_answer_goes_out_formatted_replying_to_the_persons_message(rig: Rig) -> None:
    await rig.open_window()
    done = answer("**Done**, see [it](https://e.org)", reply_to_channel_message_id="wamid.IN")
    await rig.adapter.send(done)
    [out] = rig.api.sent_to(PERSON)
    assert out.text == "*Done*, see it (https://e.org)"
    assert out.reply_to == "wamid.IN"


async def test_buttons_go_out_as_reply_buttons(rig: Rig) -> None:
    await rig.open_window()
    buttons = [[Button(text="Yes", data="b1:fy::"), Button(text="No", data="b1:fn::")]]
    await rig.adapter.send(answer("Forget everything?", buttons=buttons))
    [out] = rig.api.sent_to(PERSON)
    assert out.text == "Forget everything?"
    assert out.buttons == [{"id": "b1:fy::", "title": "Yes"}, {"id": "b1:fn::", "title": "No"}]


async def test_speech_goes_first_as_an_uploaded_audio_message(rig: Rig) -> None:
    await rig.open_window()
    key = await BlobStore(rig.redis, rig.names).put(b"OggS-speech")
    await rig.adapter.send(answer("It is sunny.", voice_blob_key=key))
    voice, words = rig.api.sent_to(PERSON)
    assert voice.type == "audio" and voice.audio == b"OggS-speech"
    assert words.text == "It is sunny."
    assert not await rig.redis.exists(key)


async def test_429_and_5xx_are_retried_later_as_whatsapp_asks(rig: Rig) -> None:
    await rig.open_window()
    rig.api.fail("messages", status=429, code=130429, message="Rate limit hit", retry_after=7)
    with pytest.raises(RetryLater) as limited:
        await rig.adapter.send(answer("one"))
    assert limited.value.delay == 7
    rig.api.fail("messages", status=503, message="Service unavailable")
    with pytest.raises(RetryLater):
        await rig.adapter.send(answer("two"))


async def test_another_refusal_is_undeliverable_with_whatsapps_message(rig: Rig) -> None:
    await rig.open_window()
    rig.api.fail("messages", status=400, code=131026, message="Message undeliverable")
    with pytest.raises(Undeliverable, match="Message undeliverable"):
        await rig.adapter.send(answer("hello"))


async def test_a_retried_answer_sends_only_the_parts_that_did_not_go(rig: Rig) -> None:
    await rig.open_window()
    message = answer("\n\n".join(["word " * 700] * 3))
    rig.api.fail("messages", status=500, message="boom", after=1)
    with pytest.raises(RetryLater):
        await rig.adapter.send(message)
    assert len(rig.api.sent_to(PERSON)) == 1
    await rig.adapter.send(message)
    assert len(rig.api.sent_to(PERSON)) == 3


async def test_a_reminder_outside_the_window_goes_out_as_the_template(rig: Rig) -> None:
    reminder = answer("⏰ **feed** the cat\nnow", kind=OutgoingKind.NOTIFICATION)
    await rig.adapter.send(reminder)
    [out] = rig.api.sent_to(PERSON)
    assert out.template == "reminder" and out.text == "⏰ *feed* the cat now"


async def test_a_reminder_whatsapp_refuses_for_the_window_goes_again_as_the_template(
    rig: Rig,
) -> None:
    await rig.open_window()
    rig.api.close_window(PERSON)  # WhatsApp knows better than our note
    await rig.adapter.send(answer("⏰ call mum", kind=OutgoingKind.NOTIFICATION))
    [out] = rig.api.sent_to(PERSON)
    assert out.template == "reminder"
    rig.api.sent.clear()
    with pytest.raises(Undeliverable, match="24-hour window"):
        await rig.adapter.send(answer("a reply is never a template"))


async def test_without_a_template_a_reminder_outside_the_window_is_undeliverable(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names
) -> None:
    rig = await _rig(api, redis, names, _settings(api, whatsapp_reminder_template=""))
    try:
        with pytest.raises(Undeliverable, match="WHATSAPP_REMINDER_TEMPLATE is not set"):
            await rig.adapter.send(answer("⏰ call mum", kind=OutgoingKind.NOTIFICATION))
    finally:
        await rig.adapter.stop()
    assert api.sent == []


async def test_the_stand_in_delivers_again_until_the_receiver_answers_200(
    api: WhatsAppStandIn,
) -> None:
    receiver = ScriptedServer(
        "/whatsapp/webhook", lambda: web.Response(status=500), lambda: web.Response(text="ok"),
        method="POST",
    )  # fmt: skip
    await receiver.start()
    try:
        made = await api.deliver(api.message(PERSON, "Ana", text("hi")), url=receiver.url)
    finally:
        await receiver.stop()
    assert [(d.attempt, d.status) for d in made] == [(1, 500), (2, 200)]
    assert api.in_window(PERSON)


async def test_a_reminder_reported_outside_the_window_later_goes_again_as_the_template(
    rig: Rig,
) -> None:
    await rig.open_window()
    await rig.adapter.send(answer("⏰ call mum", kind=OutgoingKind.NOTIFICATION))
    [taken] = rig.api.sent_to(PERSON)
    assert taken.type == "text"
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    raw = json.dumps(rig.api.status(taken.wamid, "failed", PERSON, errors)).encode()
    signed = {"X-Hub-Signature-256": rig.api.sign(raw)}
    async with rig.http() as http:
        for _ in range(2):  # WhatsApp may deliver the status twice
            answered = await http.post("/whatsapp/webhook", content=raw, headers=signed)
            assert answered.status_code == 200
    _, again = rig.api.sent_to(PERSON)
    assert again.template == "reminder" and again.text == "⏰ call mum"
    assert len(rig.api.sent_to(PERSON)) == 2
    window = rig.names.whatsapp_window(rig.api.phone_number_id, PERSON)
    assert not await rig.redis.exists(window)


async def test_speech_that_expired_while_an_answer_waited_leaves_its_words_to_go(
    rig: Rig,
) -> None:
    """WhatsApp was down after the voice went; by the retry the speech (kept 30 minutes) is
    gone: the words still go, all of them."""
    await rig.open_window()
    key = await BlobStore(rig.redis, rig.names).put(b"OggS-speech")
    message = answer("It is sunny.", voice_blob_key=key)
    rig.api.fail("messages", status=503, message="Service unavailable", after=1)
    with pytest.raises(RetryLater):
        await rig.adapter.send(message)
    await rig.redis.delete(key)
    await rig.adapter.send(message)
    assert [m.type for m in rig.api.sent_to(PERSON)] == ["audio", "text"]
    assert rig.api.sent_to(PERSON)[1].text == "It is sunny."


# -- what arrives -----------------------------------------------------------------------------


def _window(rig: Rig) -> str:
    return rig.names.whatsapp_window(rig.api.phone_number_id, PERSON)


def _events(logs: Sequence[Mapping[str, Any]], event: str) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


async def test_a_signed_body_that_is_not_json_is_400(rig: Rig) -> None:
    assert (await rig.post(b"<html>not a webhook</html>")).status_code == 400


async def test_a_message_to_another_business_number_is_left_alone(rig: Rig) -> None:
    payload = rig.api.message(PERSON, "Ana", {"type": "sticker", "sticker": {"id": "9"}})
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999000111"
    assert (await rig.post(payload)).status_code == 200
    assert rig.api.sent == [] and not await rig.redis.exists(_window(rig))


async def test_a_reaction_opens_the_window_and_is_neither_answered_nor_queued(rig: Rig) -> None:
    """(The rig's rest_service does not exist: queueing would fail the webhook with 500.)"""
    reaction = {"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}
    _, status = await rig.from_person(reaction)
    assert status == 200
    assert await rig.redis.exists(_window(rig))
    assert rig.api.sent == []


async def test_a_sticker_is_answered_here_once_however_often_whatsapp_delivers_it(
    rig: Rig,
) -> None:
    rig.api.windows[PERSON] = time.monotonic()
    sticker = {"type": "sticker", "sticker": {"id": "9", "mime_type": "image/webp"}}
    wamid, first = await rig.from_person(sticker)
    _, again = await rig.from_person(sticker, wamid=wamid)
    assert first == again == 200
    [told] = rig.api.sent_to(PERSON)
    assert told.text == TEXTS.text(None, "nontext.sticker")
    await until(lambda: rig.api.read.count(wamid) >= 2, 10, "the sticker marked read")
    await rig.adapter.stop()
    assert rig.api.read == [wamid, wamid], "marked read once a delivery"


async def test_a_flow_reply_is_answered_as_a_message_that_cannot_be_read(rig: Rig) -> None:
    rig.api.windows[PERSON] = time.monotonic()
    flow = {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
        "response_json": "{}", "body": "Sent", "name": "flow"}}}  # fmt: skip
    _, status = await rig.from_person(flow)
    assert status == 200
    [told] = rig.api.sent_to(PERSON)
    assert told.text == TEXTS.text(None, "nontext.other")


async def test_an_answer_whatsapp_refuses_is_logged_and_the_delivery_still_taken(
    rig: Rig,
) -> None:
    """A video from someone WhatsApp counts as outside the window (our note of it said
    otherwise): the 131047 is logged; the webhook answers 200, since delivering the video
    again would not change that."""
    with capture_logs() as logs:
        _, status = await rig.from_person({"type": "video", "video": {"id": "7"}})
    assert status == 200 and rig.api.sent == []
    [failed] = _events(logs, "whatsapp_answer_failed")
    assert "131047" in failed["error"]


async def test_a_failed_mark_read_is_only_logged(rig: Rig) -> None:
    rig.api.windows[PERSON] = time.monotonic()
    rig.api.fail("read", status=500, message="Something went wrong")
    with capture_logs() as logs:
        _, status = await rig.from_person({"type": "sticker", "sticker": {"id": "9"}})
        await until(
            lambda: _events(logs, "whatsapp_mark_read_failed") or None, 10, "the failure logged"
        )
    assert status == 200 and len(rig.api.sent_to(PERSON)) == 1 and rig.api.read == []


async def test_stopping_does_not_wait_for_a_mark_read_whatsapp_leaves_unanswered(
    rig: Rig,
) -> None:
    rig.api.windows[PERSON] = time.monotonic()
    stalled = rig.api.fail("read", stall=True)
    _, status = await rig.from_person({"type": "sticker", "sticker": {"id": "9"}})
    assert status == 200
    await until(lambda: stalled.times == 0, 10, "the mark-read waiting at WhatsApp")
    async with asyncio.timeout(5):  # far below the call's own 20 s bound
        await rig.adapter.stop()
    assert rig.api.read == []


async def test_a_message_that_cannot_be_queued_is_500_so_whatsapp_delivers_it_again(
    rig: Rig,
) -> None:
    """rest_service is unreachable (the rig's points nowhere): nothing answered, nothing
    marked read; WhatsApp's next delivery is the message's next chance."""
    _, status = await rig.from_person(text("hello?"))
    assert status == 500
    assert rig.api.sent == [] and rig.adapter._reading == set()


async def test_delivered_and_read_are_kept_and_a_status_of_a_message_not_ours_is_not(
    rig: Rig,
) -> None:
    await rig.open_window()
    await rig.adapter.send(answer("hello"))
    [out] = rig.api.sent_to(PERSON)
    key = rig.names.whatsapp_sent(out.wamid)
    for status in ("sent", "delivered", "read"):
        assert (await rig.post(rig.api.status(out.wamid, status, PERSON))).status_code == 200
        assert await rig.redis.hget(key, "status") == status.encode()
    elsewhere = "wamid.SENT-BY-ANOTHER-APP-ON-THE-NUMBER"
    assert (await rig.post(rig.api.status(elsewhere, "read", PERSON))).status_code == 200
    assert not await rig.redis.exists(rig.names.whatsapp_sent(elsewhere))


async def test_unreadable_items_are_skipped_and_the_rest_kept(rig: Rig) -> None:
    await rig.open_window()
    await rig.adapter.send(answer("hello"))
    [out] = rig.api.sent_to(PERSON)
    payload = rig.api.status(out.wamid, "delivered", PERSON)
    statuses = payload["entry"][0]["changes"][0]["value"]["statuses"]
    statuses.insert(0, {"id": out.wamid})  # no status: skipped
    statuses.insert(0, "garbage")
    with capture_logs() as logs:
        assert (await rig.post(payload)).status_code == 200
    assert await rig.redis.hget(rig.names.whatsapp_sent(out.wamid), "status") == b"delivered"
    assert _events(logs, "whatsapp_webhook_items_skipped")[0]["skipped"] == 2


async def test_a_reminder_reported_late_whose_template_is_refused_is_given_up_once(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names
) -> None:
    rig = await _rig(api, redis, names, _settings(api, whatsapp_reminder_template="unapproved"))
    try:
        await rig.open_window()
        await rig.adapter.send(answer("⏰ call mum", kind=OutgoingKind.NOTIFICATION))
        [taken] = api.sent_to(PERSON)
        errors = [{"code": 131047, "title": "Re-engagement message"}]
        failed = api.status(taken.wamid, "failed", PERSON, errors)
        with capture_logs() as logs:
            for _ in range(2):  # WhatsApp delivers the status again: no second try
                assert (await rig.post(failed)).status_code == 200
    finally:
        await rig.adapter.stop()
    [refused] = _events(logs, "whatsapp_template_refused")
    assert "Template name does not exist" in refused["reason"]
    assert api.sent_to(PERSON) == [taken]


# -- files ------------------------------------------------------------------------------------


async def _refused_with(rig: Rig, content: dict[str, Any]) -> str:
    """The one answer PERSON got for sending `content` (the webhook took it)."""
    rig.api.windows[PERSON] = time.monotonic()
    _, status = await rig.from_person(content)
    assert status == 200
    [told] = rig.api.sent_to(PERSON)
    return told.text


async def test_a_voice_note_whatsapp_cannot_give_us_is_answered_with_a_short_apology(
    rig: Rig,
) -> None:
    """The media's URL has expired (WhatsApp's last five minutes): the person is asked to
    send it again, and nothing is kept."""
    media_id = rig.api.add_media(b"OggS-voice", "audio/ogg; codecs=opus")
    rig.api.fail("download", status=404, code=131052, message="Media download error")
    told = await _refused_with(rig, audio(media_id))
    assert told == TEXTS.text(None, "media.download_failed")
    assert await rig.redis.keys(rig.names.blob("*")) == []


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("media_info", 429, 130429), ("download", 503, 131000), ("media_info", 500, 131000)],
    ids=["rate-limited", "download-unavailable", "graph-error"],
)
async def test_a_file_whatsapp_fails_to_give_for_now_waits_for_its_next_delivery(
    rig: Rig, kind: str, status: int, code: int
) -> None:
    media_id = rig.api.add_media(b"OggS-voice", "audio/ogg; codecs=opus")
    rig.api.fail(kind, status=status, code=code, message="Try again later")
    _, answered = await rig.from_person(audio(media_id))
    assert answered == 500
    assert rig.api.sent == [] and rig.api.read == []
    assert await rig.redis.keys(rig.names.blob("*")) == []


@pytest.mark.parametrize(
    ("kind", "status"), [("media_info", 400), ("download", 401)], ids=["info-400", "download-401"]
)
async def test_a_file_that_comes_while_our_token_is_refused_waits_for_its_next_delivery(
    rig: Rig, kind: str, status: int
) -> None:
    """An expired access token (Graph's code 190) is ours to renew, not the person's file to
    lose: no apology that could not go anyway, a 500 so WhatsApp delivers the file again."""
    media_id = rig.api.add_media(b"OggS-voice", "audio/ogg; codecs=opus")
    rig.api.windows[PERSON] = time.monotonic()
    rig.api.fail(kind, status=status, code=190, message="Session has expired")
    with capture_logs() as logs:
        _, answered = await rig.from_person(audio(media_id))
    assert answered == 500
    assert rig.api.sent == [] and rig.api.read == []
    assert await rig.redis.keys(rig.names.blob("*")) == []
    [refused] = _events(logs, "whatsapp_token_refused")
    assert refused["log_level"] == "error" and str(status) in refused["error"]


@pytest.mark.parametrize(
    ("status", "code"), [(401, 190), (503, 131000), (429, 130429)], ids=["token", "down", "limited"]
)
async def test_a_short_answer_that_cannot_go_for_now_goes_at_the_next_delivery(
    rig: Rig, status: int, code: int
) -> None:
    rig.api.windows[PERSON] = time.monotonic()
    rig.api.fail("messages", status=status, code=code, message="not now")
    sticker = {"type": "sticker", "sticker": {"id": "9", "mime_type": "image/webp"}}
    wamid, first = await rig.from_person(sticker)
    assert first == 500 and rig.api.sent == []
    _, again = await rig.from_person(sticker, wamid=wamid)
    assert again == 200
    [told] = rig.api.sent_to(PERSON)
    assert told.text == TEXTS.text(None, "nontext.sticker")


@pytest.mark.parametrize("size_told", [True, False], ids=["size-told", "size-untold"])
async def test_a_file_over_20_mb_is_refused_saying_the_limit(rig: Rig, size_told: bool) -> None:
    big = rig.api.add_media(b"%PDF" + b"0" * (20 * 1024 * 1024), "application/pdf",
                            size_told=size_told)  # fmt: skip
    told = await _refused_with(rig, document(big, "scan.pdf", "application/pdf"))
    assert told == TEXTS.text(None, "media.too_big", limit="20 MB")
    assert await rig.redis.keys(rig.names.blob("*")) == []


async def test_an_empty_file_is_answered_as_unreadable(rig: Rig) -> None:
    empty = rig.api.add_media(b"", "image/jpeg")
    assert await _refused_with(rig, image(empty)) == TEXTS.text(None, "media.unreadable")


@pytest.mark.parametrize(
    ("budget", "text_key", "values"),
    [
        (BlobBudget(per_user=3 * 1024 * 1024), "media.over_budget", {"limit": "3 MB"}),
        (BlobBudget(total=3 * 1024 * 1024), "media.storage_full", {}),
    ],
    ids=["the-persons", "everyones"],
)
async def test_a_file_past_a_budget_is_refused_saying_which(
    rig: Rig, budget: BlobBudget, text_key: str, values: dict[str, str]
) -> None:
    await BlobStore(rig.redis, rig.names, budget=budget).put(
        b"w" * 2 * 1024 * 1024, owner=f"whatsapp:{PERSON}"
    )
    media_id = rig.api.add_media(b"p" * 2 * 1024 * 1024, "image/png")
    [message] = parse(rig.api.message(PERSON, "Ana", image(media_id, "image/png"))).messages
    intake = MediaIntake(rig.adapter.graph, rig.redis, rig.names, budget)
    with pytest.raises(Refused) as refused:
        await intake.stored(message)
    assert (refused.value.text_key, refused.value.values) == (text_key, values)
    assert TEXTS.text(None, text_key, **values)  # the person is told in words


# -- what goes out when things go wrong -------------------------------------------------------


async def test_a_spoken_only_answer_whose_speech_expired_sends_nothing(rig: Rig) -> None:
    await rig.open_window()
    gone = rig.names.blob("expired-speech")
    with capture_logs() as logs:
        await rig.adapter.send(answer("", voice_blob_key=gone))
    assert rig.api.sent == []
    assert _events(logs, "whatsapp_nothing_to_send")


async def test_a_reminder_delivered_again_after_its_template_went_goes_once(rig: Rig) -> None:
    reminder = answer("⏰ water the plants", kind=OutgoingKind.NOTIFICATION)
    await rig.adapter.send(reminder)
    await rig.adapter.send(reminder)  # the queue delivers it again (acked too late)
    [out] = rig.api.sent_to(PERSON)
    assert out.template == "reminder"


@pytest.mark.parametrize(
    ("status", "code", "message", "raised"),
    [
        (404, 132001, "Template name does not exist in the translation", Undeliverable),
        (429, 130429, "Rate limit hit", RetryLater),
        (400, 131056, "(Business Account, Consumer Account) pair rate limit hit", RetryLater),
    ],
    ids=["not-approved", "rate-limited", "pair-rate-limited"],
)
async def test_a_refused_template_is_given_up_or_tried_again_as_whatsapp_says(
    rig: Rig, status: int, code: int, message: str, raised: type[Exception]
) -> None:
    rig.api.fail("messages", status=status, code=code, message=message)
    with pytest.raises(raised, match=re.escape(message)):
        await rig.adapter.send(answer("⏰ water the plants", kind=OutgoingKind.NOTIFICATION))
    assert rig.api.sent == []


async def test_an_expired_access_token_is_undeliverable_saying_so(rig: Rig) -> None:
    await rig.open_window()
    expired = "Error validating access token: Session has expired on Tuesday, 26-Nov-24."
    rig.api.fail("messages", status=401, code=190, message=expired)
    with pytest.raises(Undeliverable, match="Session has expired"):
        await rig.adapter.send(answer("hello"))


async def test_when_whatsapp_cannot_be_reached_the_answer_waits(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names
) -> None:
    rig = await _rig(api, redis, names, _settings(api, whatsapp_api_base=NOWHERE))
    try:
        await rig.open_window()
        with pytest.raises(RetryLater) as waiting:
            await rig.adapter.send(answer("hello"))
    finally:
        await rig.adapter.stop()
    assert waiting.value.delay == 5.0


@pytest.mark.parametrize(
    "page",
    [
        lambda: web.Response(status=502, text="<html><body>Bad Gateway</body></html>",
                             content_type="text/html"),
        lambda: web.json_response({"messaging_product": "whatsapp", "contacts": []}),
    ],
    ids=["a-proxys-html-502", "taken-without-a-message-id"],
)  # fmt: skip
async def test_an_answer_graph_api_does_not_give_is_tried_again_later(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names, page: Any
) -> None:
    proxy = ScriptedServer(f"/{api.phone_number_id}/messages", page, method="POST")
    await proxy.start()
    base = f"http://127.0.0.1:{proxy.port}"
    rig = await _rig(api, redis, names, _settings(api, whatsapp_api_base=base))
    try:
        await rig.open_window()
        with pytest.raises(RetryLater, match="502"):
            await rig.adapter.send(answer("hello"))
    finally:
        await rig.adapter.stop()
        await proxy.stop()
    assert proxy.hits == 1


@pytest.mark.parametrize(
    "media_answer",
    [{"id": "1000000000000077", "mime_type": "audio/ogg"},
     {"id": "1000000000000077", "url": f"{NOWHERE}/media/77", "file_size": 9}],
    ids=["without-its-url", "at-a-host-that-does-not-answer"],
)  # fmt: skip
async def test_a_file_whatsapp_points_nowhere_waits_for_its_next_delivery(
    api: WhatsAppStandIn, redis: aioredis.Redis, names: Names, media_answer: dict[str, Any]
) -> None:
    graph = ScriptedServer("/1000000000000077", lambda: web.json_response(media_answer))
    await graph.start()
    base = f"http://127.0.0.1:{graph.port}"
    rig = await _rig(api, redis, names, _settings(api, whatsapp_api_base=base))
    try:
        _, status = await rig.from_person(audio("1000000000000077"))
    finally:
        await rig.adapter.stop()
        await graph.stop()
    assert status == 500 and graph.hits == 1
    assert await redis.keys(names.blob("*")) == []


async def test_a_message_whatsapp_delivers_more_than_a_day_late_opens_no_window(
    rig: Rig,
) -> None:
    """WhatsApp delivers again for days; the window runs from when the person wrote."""
    reaction = {"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"},
                "timestamp": "1700000000"}  # 2023-11-14  # fmt: skip
    _, status = await rig.from_person(reaction)
    assert status == 200
    assert not await rig.redis.exists(_window(rig))


async def test_a_file_delivered_again_is_taken_from_what_was_kept_not_fetched_again(
    rig: Rig,
) -> None:
    media_id = rig.api.add_media(b"%PDF-1.7 notes", "application/pdf")
    content = document(media_id, "notes.pdf", "application/pdf")
    [message] = parse(rig.api.message(PERSON, "Ana", content)).messages
    intake = MediaIntake(rig.adapter.graph, rig.redis, rig.names)
    first = await intake.stored(message)
    rig.api.fail("media_info", status=500, times=5)  # WhatsApp asked again would fail now
    again = await intake.stored(message)
    assert again == first and again.size == len(b"%PDF-1.7 notes")
    assert await rig.redis.get(again.blob_key) == b"%PDF-1.7 notes"
