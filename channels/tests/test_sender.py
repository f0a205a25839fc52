"""The channels service as a process: `/health` says which channels are on and why the others
are off, an adapter's routes and loops run while it is on, and every answer on
`queue:to_channels` reaches its channel's adapter once, or the dead-letter stream with why.

The adapter here is a test double of a platform (defined in this module, which the process
runs as its app): what it "sends" it adds to a Redis stream the test reads."""

from __future__ import annotations

import contextlib
import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis as syncredis
from fastapi import APIRouter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.src.adapters.base import Adapter
from channels.src.main import create_app
from channels.src.settings import Settings
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TO_CHANNELS, Names
from common.infrastructure.serve import serve_asgi
from common.infrastructure.settings import load_settings
from ops.processes import ServiceProcess, Stack
from ops.run_env import forget_prefix
from tests.tiers import examples
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e

#: The module this process runs (`python -m`), and the app in it.
MODULE = "channels.tests.test_sender"
SENT = "test:web:sent"


class RecordingAdapter(Adapter):
    """The web chat as a recorder: `send` adds the answer to `test:web:sent`; the first
    attempt at an answer whose text is "fail once" fails, as a platform's outage would."""

    channel = Channel.WEB

    @property
    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/chat/ping")
        async def ping() -> dict[str, str]:
            return {"channel": "web"}

        return router

    def _key(self, name: str) -> str:
        return self.context.names.key(f"test:web:{name}")

    async def start(self) -> None:
        await self.context.redis.incr(self._key("started"))

    async def stop(self) -> None:
        await self.context.redis.incr(self._key("stopped"))

    async def send(self, message: OutgoingMessage) -> None:
        redis = self.context.redis
        if message.text == "fail once":
            first = await redis.set(self._key(f"failed:{message.message_id}"), "1", nx=True)
            if first:
                raise ConnectionError("the platform is down")
        fields = {"message_id": str(message.message_id), "text": message.text}
        await redis.xadd(self._key("sent"), fields)  # type: ignore[arg-type]


recording_app = create_app(adapters={Channel.WEB: RecordingAdapter})


@pytest.fixture(scope="module")
def service(
    redis_url: str, session_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """channels with the web chat on (its secret set, its adapter the recorder) and the other
    channels off, under a key prefix of the module's own."""
    prefix = f"{session_prefix}channels-{uuid.uuid4().hex[:6]}:"
    env = {
        "ENVIRONMENT": "test",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "WEB_CHAT_SECRET": "a-web-chat-secret-of-the-test-0123456789",
        "WHATSAPP_TOKEN": "set, but not the rest of WhatsApp's",
    }
    stack = Stack(env, tmp_path_factory.mktemp("channels"))
    try:
        yield stack.start(MODULE, name="channels")
    finally:
        stack.stop_all()
        forget_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
def client(service: ServiceProcess, redis_url: str) -> Iterator[syncredis.Redis]:
    redis = syncredis.Redis.from_url(redis_url, decode_responses=True)
    yield redis
    redis.close()


def names_of(service: ServiceProcess) -> Names:
    return Names(service.env["REDIS_KEY_PREFIX"])


def answer(channel: str, text: str, **fields: Any) -> dict[str, Any]:
    """The JSON of an answer for `channel` as the assistant writes it."""
    conversation = f"visitor-{uuid.uuid4().hex[:8]}"
    known = channel in {c.value for c in Channel} and channel != Channel.TELEGRAM
    chat = channel_chat_number(Channel(channel), conversation) if known else 1
    message = OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat, text=text)
    body: dict[str, Any] = message.model_dump(mode="json")
    return {**body, "channel": channel, "channel_chat_id": conversation, **fields}


def put(client: syncredis.Redis, names: Names, data: dict[str, Any] | str) -> None:
    raw = data if isinstance(data, str) else json.dumps(data)
    client.xadd(names.stream(TO_CHANNELS), {"data": raw})


def entries(client: syncredis.Redis, key: str) -> list[dict[str, str]]:
    """The fields of every entry of the stream `key` (the client decodes them)."""
    found = cast(list[tuple[str, dict[str, str]]], client.xrange(key))
    return [fields for _, fields in found]


def sent(client: syncredis.Redis, names: Names, message_id: object) -> list[str]:
    return [
        f["text"] for f in entries(client, names.key(SENT)) if f["message_id"] == str(message_id)
    ]


def dead(client: syncredis.Redis, names: Names, message_id: object) -> dict[str, str] | None:
    for fields in entries(client, names.dead(TO_CHANNELS)):
        # the module's broken entries share the stream, in any order: they name no message
        with contextlib.suppress(ValueError):
            found = json.loads(fields["data"])
            if isinstance(found, dict) and found.get("message_id") == str(message_id):
                return fields
    return None


def test_health_says_each_channel_on_or_off_and_why(service: ServiceProcess) -> None:
    health = httpx.get(f"{service.url}/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["service"] == "channels"
    assert body["channels"] == {
        "whatsapp": {
            "state": "off",
            "reason": "WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN "
            "are not set",
        },
        "slack": {"state": "off", "reason": "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET are not set"},
        "email": {
            "state": "off",
            "reason": "EMAIL_IMAP_URL, EMAIL_SMTP_URL, EMAIL_FROM are not set",
        },
        "web": {"state": "on"},
        # this process is given test adapters only (the public API needs no setting)
        "api": {"state": "off", "reason": "configured, but the api adapter is not built yet"},
    }
    assert body["checks"]["redis"]["ok"] and body["checks"]["sender"]["ok"]


def test_an_adapter_that_is_on_is_started_and_serves_its_routes(
    service: ServiceProcess, client: syncredis.Redis
) -> None:
    assert client.get(names_of(service).key("test:web:started")) == "1"
    assert httpx.get(f"{service.url}/chat/ping").json() == {"channel": "web"}


def test_an_answer_reaches_its_channels_adapter_once(
    service: ServiceProcess, client: syncredis.Redis
) -> None:
    names = names_of(service)
    message = answer("web", "Hello from the secretary")
    put(client, names, message)
    until_sync(lambda: sent(client, names, message["message_id"]), message="the answer sent")
    put(client, names, message)  # redelivered: dropped as done
    later = answer("web", "the next one")
    put(client, names, later)
    until_sync(lambda: sent(client, names, later["message_id"]), message="the next answer")
    assert sent(client, names, message["message_id"]) == ["Hello from the secretary"]


def test_an_answer_whose_send_fails_is_tried_again_and_sent_once(
    service: ServiceProcess, client: syncredis.Redis
) -> None:
    names = names_of(service)
    message = answer("web", "fail once")
    put(client, names, message)
    until_sync(lambda: sent(client, names, message["message_id"]), message="sent on retry")
    assert sent(client, names, message["message_id"]) == ["fail once"]
    assert dead(client, names, message["message_id"]) is None


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        ("slack", "the slack channel is off: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET are not set"),
        ("whatsapp", "the whatsapp channel is off: WHATSAPP_PHONE_NUMBER_ID"),
        ("telegram", "the telegram channel is not served here"),
        ("api", "the api channel is off: configured, but the api adapter is not built yet"),
    ],
)
def test_an_answer_for_a_channel_that_is_off_is_dead_lettered_at_once_with_why(
    service: ServiceProcess, client: syncredis.Redis, channel: str, why: str
) -> None:
    names = names_of(service)
    message = answer(channel, "nobody can send this")
    put(client, names, message)
    letter = until_sync(lambda: dead(client, names, message["message_id"]), message="dead")
    assert letter["error"].startswith(f"undeliverable: {why}"), letter["error"]
    assert letter["attempts"] == "1" and letter["group"] == "channels"
    assert json.loads(letter["data"]) == message  # kept whole, for a replay once it is on


def test_an_answer_for_no_known_channel_or_none_is_dead_lettered_not_lost(
    service: ServiceProcess, client: syncredis.Redis
) -> None:
    names = names_of(service)
    unknown = answer("icq", "uh-oh")
    put(client, names, unknown)
    letter = until_sync(lambda: dead(client, names, unknown["message_id"]), message="dead")
    assert "channel" in letter["error"]
    health = httpx.get(f"{service.url}/health").json()
    assert health["checks"]["sender"]["ok"], "the sender outlived it"


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    channel=st.one_of(st.sampled_from([c.value for c in Channel]), st.text(max_size=30)),
    text=st.text(max_size=200),
)
def test_any_answer_is_sent_or_dead_lettered_never_lost(
    service: ServiceProcess, client: syncredis.Redis, channel: str, text: str
) -> None:
    """Whatever the assistant (or anything else) puts on the queue ends in one of the two."""
    names = names_of(service)
    message = answer(channel, text)
    put(client, names, message)
    until_sync(
        lambda: (
            sent(client, names, message["message_id"]) or dead(client, names, message["message_id"])
        ),
        message=f"the answer for {channel!r} settled",
    )


@pytest.mark.parametrize(
    "raw",
    ["not json", "{}", '{"message_id": "not a uuid"}', json.dumps({"channel": "web"})],
    ids=["not-json", "empty", "bad-id", "no-message"],
)
def test_a_payload_that_does_not_parse_is_dead_lettered(
    service: ServiceProcess, client: syncredis.Redis, raw: str
) -> None:
    names = names_of(service)
    marker = uuid.uuid4().hex
    client.xadd(names.stream(TO_CHANNELS), {"data": raw, "marker": marker})

    def found() -> bool:
        return any(
            f["data"] == raw and f["error"].startswith("malformed")
            for f in entries(client, names.dead(TO_CHANNELS))
        )

    until_sync(found, message="the malformed entry dead-lettered")


def test_sigterm_stops_the_adapters_and_the_service_cleanly(
    redis_url: str, session_prefix: str, tmp_path: Path
) -> None:
    """A process of its own: stopping the module's would end the other tests."""
    prefix = f"{session_prefix}channels-stop-{uuid.uuid4().hex[:6]}:"
    env = {
        "ENVIRONMENT": "test",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "LOG_FORMAT": "json",
        "WEB_CHAT_SECRET": "a-web-chat-secret-of-the-test-0123456789",
    }
    stack = Stack(env, tmp_path)
    try:
        process = stack.start(MODULE, name="channels")
        assert process.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises it once done
        client = syncredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            assert client.get(f"{prefix}test:web:stopped") == "1"
        finally:
            client.close()
        assert '"service_stopped"' in process.logs()
    finally:
        stack.stop_all()
        forget_prefix(redis_url, prefix)


if __name__ == "__main__":
    serve_asgi(f"{MODULE}:recording_app", load_settings(Settings))
