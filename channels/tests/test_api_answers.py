"""The public API's answers when the turn does not go the usual way, with the channels app
served in this process, a real rest_service and Redis, and the test in the assistant's place
(reading `queue:to_secretary`, answering on `queue:to_channels`): a slow answer is a 504 naming
the message and is then in GET; a person over their limit is told when to come back; an
answer delivered twice is kept once; a reminder for a client without a webhook is
dead-lettered saying why."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from channels.src.adapters.api import ApiAdapter
from channels.src.adapters.api.records import Records
from channels.src.adapters.base import AdapterContext
from channels.src.intake import Intake
from channels.src.main import create_app
from channels.src.settings import Settings
from common.infrastructure.channels import Channel
from common.infrastructure.errors import RetryLater
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import (
    DraftMessage,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    answer_address,
    answer_message_id,
)
from common.infrastructure.redis_keys import CHANNEL_DRAFTS, TO_CHANNELS, TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
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


async def test_a_streamed_answer_grows_with_the_drafts_and_ends_with_the_answer(
    module_rest_service: Stack,
    redis_url: str,
    redis: aioredis.Redis,
    prefix: str,
    secrets: dict[str, str],
) -> None:
    """Drafts that continue the text are sent as they come; one that starts over (a tool
    ran) is left out, and the answer then follows what was sent after a blank line."""
    names = Names(prefix)
    client = await make_client(module_rest_service, secrets)
    key = {"Authorization": f"Bearer {client['key']}"}
    async with serving(module_rest_service, redis_url, prefix, secrets) as api:
        body = {"messages": [{"role": "user", "content": "my day?"}], "stream": True}
        streaming = asyncio.create_task(api.post("/v1/chat/completions", json=body, headers=key))
        message = await queued(redis, names, "my day?")
        for seq, (text, correlated) in enumerate(
            [("Let me", True), ("Let me check", True), ("ignored", False), ("Your", True)], 1
        ):
            draft = DraftMessage(
                message_id=answer_message_id(message.message_id),
                chat_id=message.chat_id,
                correlation_id=str(message.message_id) if correlated else None,
                text=text,
                seq=seq,
                channel=Channel.API,
                channel_chat_id=message.channel_chat_id,
            )
            await redis.xadd(names.stream(CHANNEL_DRAFTS), {"data": draft.to_json()})

        async def drafts_shown() -> bool:  # the one without a correlation is dropped
            events = names.api_answer_events(str(message.message_id))
            return len(await stream_entries(redis, events)) == 3

        await until(drafts_shown, 10, "the drafts in the message's events")
        await answer(redis, names, message, "Your day is clear.")
        response = await streaming
    lines = [line.removeprefix("data: ") for line in response.text.splitlines() if line]
    chunks = [json.loads(line) for line in lines[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert deltas == ["", "Let me", " check", "\n\nYour day is clear.", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and lines[-1] == "[DONE]"


async def test_a_blocked_person_is_refused(
    module_rest_service: Stack,
    redis_url: str,
    redis: aioredis.Redis,
    prefix: str,
    secrets: dict[str, str],
) -> None:
    names = Names(prefix)
    client = await make_client(module_rest_service, secrets)
    key = {"Authorization": f"Bearer {client['key']}"}
    async with serving(module_rest_service, redis_url, prefix, secrets) as api:
        first = await api.post("/api/v1/messages", json={"text": "hi", "user": "rex"}, headers=key)
        assert first.status_code == 202
        user_id = (await queued(redis, names, "hi")).user_id
        async with httpx.AsyncClient() as admin:
            blocked = await admin.put(
                f"{module_rest_service.processes['rest_service'].url}/api/users/{user_id}",
                json={"blocked": True},
                headers={"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"},
            )
        assert blocked.status_code == 200, blocked.text
        again = await api.post("/api/v1/messages", json={"text": "hi", "user": "rex"}, headers=key)
        too_long = await api.post(
            "/api/v1/messages",
            json={"text": "hi", "user": "sue"},
            headers={**key, "Idempotency-Key": "k" * 129},
        )
    assert again.status_code == 403
    assert too_long.status_code == 422
    assert too_long.json()["fields"][0]["field"] == "idempotency_key"


async def test_an_answer_whose_webhook_went_away_is_kept_for_get(
    module_rest_service: Stack,
    redis_url: str,
    redis: aioredis.Redis,
    prefix: str,
    secrets: dict[str, str],
) -> None:
    names = Names(prefix)
    client = await make_client(module_rest_service, secrets, webhook_url="https://93.184.216.34/h")
    key = {"Authorization": f"Bearer {client['key']}"}
    async with serving(module_rest_service, redis_url, prefix, secrets) as api:
        posted = await api.post("/api/v1/messages", json={"text": "ho", "user": "ty"}, headers=key)
        async with httpx.AsyncClient() as admin:
            changed = await admin.patch(
                f"{module_rest_service.processes['rest_service'].url}/api/api-clients/{client['id']}",
                json={"webhook_url": None},
                headers={"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"},
            )
        assert changed.status_code == 200 and changed.json()["webhook_url"] is None
        message = await queued(redis, names, "ho")
        await answer(redis, names, message, "Still here.")
        done = names.done(TO_CHANNELS, str(answer_message_id(message.message_id)))
        await until(lambda: redis.exists(done), 10, "the answer handled")
        state = (await api.get(f"/api/v1/messages/{posted.json()['id']}", headers=key)).json()
    assert state["answer"]["text"] == "Still here."
    assert await stream_entries(redis, names.dead(TO_CHANNELS)) == []


async def test_redis_away_is_a_503_never_a_500(
    module_rest_service: Stack, prefix: str, secrets: dict[str, str]
) -> None:
    client = await make_client(module_rest_service, secrets)
    key = {"Authorization": f"Bearer {client['key']}"}
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with serving(module_rest_service, closed, prefix, secrets) as api:
        posted = await api.post("/api/v1/messages", json={"text": "x", "user": "u"}, headers=key)
        fetched = await api.get(f"/api/v1/messages/{uuid.uuid4()}", headers=key)
    assert posted.status_code == fetched.status_code == 503
    assert posted.json()["error"] == "service_unavailable"


async def test_an_answer_is_tried_again_while_redis_or_rest_service_is_away(
    redis: aioredis.Redis, prefix: str
) -> None:
    settings = Settings(_env_file=None, environment="test", redis_key_prefix=prefix)
    names = Names(prefix)
    away = RestClient(f"http://127.0.0.1:{free_port()}", "unused", retries=0)
    closed = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    reminder = OutgoingMessage(
        message_id=uuid.uuid4(),
        chat_id=1 << 60,
        text="⏰ stretch",
        kind=OutgoingKind.NOTIFICATION,
        channel=Channel.API,
        channel_chat_id=f"{uuid.uuid4()}:pat",
    )
    for store, rest in ((redis, away), (closed, away)):
        context = AdapterContext(settings, store, names, Intake(rest, store, names), rest)
        with pytest.raises(RetryLater):
            await ApiAdapter(context).send(reminder.model_copy(update={"correlation_id": "x"}))
    await away.aclose()
    await closed.aclose()


async def test_a_stream_whose_redis_goes_away_ends_with_an_error_event(prefix: str) -> None:
    settings = Settings(_env_file=None, environment="test", redis_key_prefix=prefix)
    names, rest = Names(prefix), RestClient("http://127.0.0.1:9", "unused")
    closed = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    adapter = ApiAdapter(AdapterContext(settings, closed, names, Intake(rest, closed, names), rest))
    record = Records.new(str(uuid.uuid4()), str(uuid.uuid4()), "vi", "secretary", "wait")
    events = [e async for e in adapter._stream(record, "chatcmpl-x", 0, "secretary", False)]
    assert json.loads(events[-2].removeprefix("data: "))["error"]["error"] == "service_unavailable"
    assert events[-1] == "data: [DONE]\n\n"
    await closed.aclose()
