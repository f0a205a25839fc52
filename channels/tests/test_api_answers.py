"""The public API's answers when the turn does not go the usual way, with the channels app
served in this process, a real rest_service and Redis, and the test in the assistant's place
(reading `queue:to_secretary`, answering on `queue:to_channels`): a slow answer is a 504 naming
the message and is then in GET; a person over their limit is told when to come back; an
answer delivered twice is kept once; a reminder for a client without a webhook is
dead-lettered saying why."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from channels.src.main import create_app
from channels.src.settings import Settings
from common.infrastructure.channels import Channel
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    answer_address,
    answer_message_id,
)
from common.infrastructure.redis_keys import TO_CHANNELS, TO_SECRETARY, Names
from common.infrastructure.serve import served_in_this_loop
from ops.infra import free_port
from ops.processes import Stack
from tests.streams import stream_entries
from tests.waiting import until


@asynccontextmanager
async def serving(
    stack: Stack, redis_url: str, prefix: str, secrets: dict[str, str], **values: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=prefix,
        rest_service_url=stack.processes["rest_service"].url,
        service_api_token=secrets["SERVICE_API_TOKEN"],
        **values,
    )
    async with (
        served_in_this_loop(create_app(settings), free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.fixture
def prefix(key_prefix: str) -> str:
    return f"{key_prefix}api-{uuid.uuid4().hex[:6]}:"


async def make_client(stack: Stack, secrets: dict[str, str], **fields: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as admin:
        made = await admin.post(
            f"{stack.processes['rest_service'].url}/api/api-clients",
            json={"name": f"c-{uuid.uuid4().hex[:8]}", **fields},
            headers={"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"},
        )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def queued(redis: aioredis.Redis, names: Names, text: str) -> IncomingMessage:
    """The message the secretary was given with `text` (as the assistant reads it)."""

    async def find() -> IncomingMessage | None:
        for _id, fields in await stream_entries(redis, names.stream(TO_SECRETARY)):
            message = IncomingMessage.model_validate_json(fields[b"data"])
            if message.text == text:
                return message
        return None

    return await until(find, 10, f"{text!r} queued")


async def answer(redis: aioredis.Redis, names: Names, message: IncomingMessage, text: str) -> None:
    """The secretary's answer, on the channels' queue as the assistant puts it."""
    outgoing = OutgoingMessage(
        message_id=answer_message_id(message.message_id),
        chat_id=message.chat_id,
        text=text,
        correlation_id=str(message.message_id),
        **answer_address(message),
    )
    await StreamPublisher(redis, names).publish(TO_CHANNELS, outgoing)


async def test_a_slow_answer_is_a_504_naming_the_message_and_then_in_get(
    module_rest_service: Stack,
    redis_url: str,
    redis: aioredis.Redis,
    prefix: str,
    secrets: dict[str, str],
) -> None:
    names = Names(prefix)
    client = await make_client(module_rest_service, secrets)
    key = {"Authorization": f"Bearer {client['key']}"}
    async with serving(
        module_rest_service, redis_url, prefix, secrets, api_answer_timeout_seconds=0.5
    ) as api:
        body = {"messages": [{"role": "user", "content": "a slow one"}], "user": "kim"}
        slow = await api.post("/v1/chat/completions", json=body, headers=key)
        assert slow.status_code == 504
        (named,) = slow.json()["fields"]
        assert named["field"] == "id" and named["reason"] in slow.json()["detail"]

        streamed = await api.post(
            "/v1/chat/completions", json={**body, "stream": True}, headers=key
        )
        events = [line for line in streamed.text.splitlines() if line.startswith("data: ")]
        assert json.loads(events[0].removeprefix("data: "))["choices"][0]["delta"]["role"]
        assert json.loads(events[-2].removeprefix("data: "))["error"]["error"] == "answer_timeout"
        assert events[-1] == "data: [DONE]"

        message = await queued(redis, names, "a slow one")
        assert message.channel is Channel.API and message.channel_user_id == f"{client['id']}:kim"
        await answer(redis, names, message, "Late, but here.")

        async def answered() -> dict[str, Any] | None:
            state = (await api.get(f"/api/v1/messages/{named['reason']}", headers=key)).json()
            return state if state["status"] == "answered" else None

        state = await until(answered, 10, "the late answer in GET")
        assert state["answer"]["text"] == "Late, but here." and state["user"] == "kim"

        await answer(redis, names, message, "Late, but here.")  # delivered again
        again = (await api.get(f"/api/v1/messages/{named['reason']}", headers=key)).json()
        assert again == state


async def test_a_person_over_the_limit_is_told_when_to_come_back(
    module_rest_service: Stack, redis_url: str, prefix: str, secrets: dict[str, str]
) -> None:
    client = await make_client(module_rest_service, secrets)
    key = {"Authorization": f"Bearer {client['key']}"}
    async with serving(
        module_rest_service, redis_url, prefix, secrets, rate_limit_messages_per_minute=1
    ) as api:
        first = await api.post("/api/v1/messages", json={"text": "1", "user": "lee"}, headers=key)
        second = await api.post("/api/v1/messages", json={"text": "2", "user": "lee"}, headers=key)
        other = await api.post("/api/v1/messages", json={"text": "1", "user": "max"}, headers=key)
    assert first.status_code == 202 and other.status_code == 202
    assert second.status_code == 429 and second.headers["Retry-After"] == "60"


async def test_a_reminder_for_a_client_without_a_webhook_is_dead_lettered_saying_why(
    module_rest_service: Stack,
    redis_url: str,
    redis: aioredis.Redis,
    prefix: str,
    secrets: dict[str, str],
) -> None:
    names = Names(prefix)
    client = await make_client(module_rest_service, secrets)
    reminder = OutgoingMessage(
        message_id=uuid.uuid4(),
        chat_id=1 << 60,
        text="⏰ water the plants",
        kind=OutgoingKind.NOTIFICATION,
        channel=Channel.API,
        channel_chat_id=f"{client['id']}:nia",
    )
    async with serving(module_rest_service, redis_url, prefix, secrets):
        await StreamPublisher(redis, names).publish(TO_CHANNELS, reminder)

        async def dead() -> list[Any]:
            return await stream_entries(redis, names.dead(TO_CHANNELS))

        (entry,) = await until(dead, 10, "the reminder dead-lettered")
    reason = entry[1][b"error"].decode()
    assert "no webhook_url" in reason and client["id"] in reason


async def test_the_key_cannot_be_checked_while_rest_service_is_away(
    redis_url: str, prefix: str, secrets: dict[str, str]
) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=prefix,
        rest_service_url=f"http://127.0.0.1:{free_port()}",
        service_api_token=secrets["SERVICE_API_TOKEN"],
    )
    async with (
        served_in_this_loop(create_app(settings), free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as api,
    ):
        refused = await api.get("/v1/models", headers={"Authorization": "Bearer sa_" + "a" * 43})
    assert refused.status_code == 503


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    module_rest_service: Stack, redis_url: str, prefix: str, secrets: dict[str, str]
) -> None:
    async with serving(
        module_rest_service, redis_url, prefix, secrets, max_request_body_bytes=4096
    ) as api:
        big = {"text": "x" * 5000, "user": "oz"}
        refused = await api.post("/api/v1/messages", json=big)  # no key needed to be refused

        async def chunked() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"x" * 1024

        streamed = await api.post("/api/v1/messages", content=chunked())
    assert refused.status_code == 413 and refused.json()["error"] == "payload_too_large"
    assert streamed.status_code == 413
