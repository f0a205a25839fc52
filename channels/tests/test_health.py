"""`/health`, `/readyz` and request ids of the channels app, served in this process: a
channel whose start failed, or Redis gone, makes the service degraded, and says which."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
from fastapi import APIRouter

from channels.src.adapters.base import Adapter
from channels.src.main import create_app
from channels.src.settings import Settings
from channels.src.state import STATE
from common.infrastructure.channels import Channel
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.serve import served_in_this_loop
from ops.infra import free_port
from tests.redis_clients import QUICK_RETRY_SETTINGS


class BrokenMailbox(Adapter):
    """An e-mail adapter whose server refuses it at start."""

    channel = Channel.EMAIL

    async def start(self) -> None:
        raise ConnectionRefusedError("imap.example.org:993 refused")

    async def send(self, message: OutgoingMessage) -> None:
        """Never reached: it never starts."""


class RefusedAtStart(Adapter):
    """A WhatsApp adapter with a webhook whose start fails (its token is refused)."""

    channel = Channel.WHATSAPP

    @property
    def router(self) -> APIRouter:
        routes = APIRouter()
        routes.add_api_route("/whatsapp/webhook", lambda: {"taken": True}, methods=["POST"])
        return routes

    async def start(self) -> None:
        raise PermissionError("the token was refused")

    async def send(self, message: OutgoingMessage) -> None:
        """Never reached: it never starts."""


class MailboxGoneDown(Adapter):
    """An e-mail adapter that started, then lost its mailbox (its loop retries)."""

    channel = Channel.EMAIL
    running: ClassVar[list[Adapter]] = []

    async def start(self) -> None:
        self.trouble = "mail cannot be read now, trying again: OSError: connection reset"
        MailboxGoneDown.running.append(self)

    async def send(self, message: OutgoingMessage) -> None:
        """Not sent here."""


EMAIL_ON = {
    "email_imap_url": "imaps://imap.example.org:993/INBOX",
    "email_smtp_url": "smtps://smtp.example.org:465",
    "email_from": "secretary@example.org",
}


@asynccontextmanager
async def serving(
    redis_url: str, key_prefix: str, adapters: Mapping[Channel, type[Adapter]], **values: Any
) -> AsyncIterator[str]:
    settings = Settings(
        _env_file=None,
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=key_prefix,
        **values,
    )
    async with served_in_this_loop(create_app(settings, adapters), free_port()) as url:
        yield url


async def test_a_channel_that_failed_to_start_makes_the_service_degraded(
    redis_url: str, key_prefix: str
) -> None:
    async with (
        serving(redis_url, key_prefix, {Channel.EMAIL: BrokenMailbox}, **EMAIL_ON) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        health = await client.get("/health", headers={"X-Request-ID": "probe-1"})
        ready = await client.get("/readyz")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["channels"]["email"] == {
        "state": "failed",
        "reason": "ConnectionRefusedError: imap.example.org:993 refused",
    }
    assert body["channels"]["web"]["state"] == "off"
    assert health.headers["X-Request-ID"] == "probe-1"
    assert ready.status_code == 200, "a channel's outage does not take the others' traffic"


async def test_a_channel_that_failed_to_start_takes_no_deliveries(
    redis_url: str, key_prefix: str
) -> None:
    """Its platform is told to deliver again later (404), instead of its webhook taking
    messages no running adapter would answer."""
    whatsapp_on = {"whatsapp_token": "t", "whatsapp_phone_number_id": "1",
                   "whatsapp_app_secret": "s", "whatsapp_verify_token": "v"}  # fmt: skip
    async with (
        serving(redis_url, key_prefix, {Channel.WHATSAPP: RefusedAtStart}, **whatsapp_on) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        delivery = await client.post("/whatsapp/webhook", json={})
        health = await client.get("/health")
    assert health.json()["channels"]["whatsapp"]["state"] == "failed"
    assert delivery.status_code == 404


async def test_a_channel_whose_platform_is_down_is_down_until_it_is_back(
    redis_url: str, key_prefix: str
) -> None:
    async with (
        serving(redis_url, key_prefix, {Channel.EMAIL: MailboxGoneDown}, **EMAIL_ON) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        down = await client.get("/health")
        MailboxGoneDown.running.pop().trouble = None  # its loop read the mailbox again
        back = await client.get("/health")
        ready = await client.get("/readyz")
    assert down.status_code == 503 and down.json()["status"] == "degraded"
    assert down.json()["channels"]["email"] == {
        "state": "down",
        "reason": "mail cannot be read now, trying again: OSError: connection reset",
    }
    assert back.status_code == 200 and back.json()["channels"]["email"] == {"state": "on"}
    assert ready.status_code == 200


async def test_without_redis_health_and_readiness_say_so(key_prefix: str) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    # the default ~3 s per command would only slow each step down (the sender's stop included)
    async with (
        serving(nowhere, key_prefix, {}, **QUICK_RETRY_SETTINGS) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        health = await client.get("/health")
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert health.status_code == 503
    assert health.json()["checks"]["redis"]["ok"] is False
    assert ready.status_code == 503 and ready.json()["failing"] == ["redis"]
    assert metrics.status_code == 200


async def test_health_says_when_the_sender_stopped(redis_url: str, key_prefix: str) -> None:
    app = create_app(
        Settings(
            _env_file=None, environment="test", redis_url=redis_url, redis_key_prefix=key_prefix
        ),
        {},
    )
    async with served_in_this_loop(app, free_port()) as url, httpx.AsyncClient() as client:
        state = STATE.of_app(app)
        state.sender.stop()
        await asyncio.wait_for(state.sending, timeout=10)
        health = await client.get(f"{url}/health")
    assert health.status_code == 503
    assert health.json()["checks"]["sender"] == {
        "ok": False,
        "error": "the queue:to_channels consumer stopped",
    }
