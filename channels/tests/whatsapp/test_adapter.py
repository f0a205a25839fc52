"""The WhatsApp adapter against the Graph API stand-in and a real Redis, in this process: the
webhook's handshake and signature, statuses kept beside our answers, and every way a send
ends (sent, limited, refused, outside the 24-hour window, half sent and retried)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from fastapi import FastAPI

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.whatsapp import WhatsAppAdapter
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.queue_messages import Button, OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from sandbox.server import ScriptedServer
from sandbox.whatsapp_api import WhatsAppStandIn, text

PERSON = "4915112345678"


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
