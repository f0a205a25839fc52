"""The web chat's event stream and drafts, served in this process with its Redis behind a
proxy the test can cut: a page that reconnects with the last event it saw gets only what came
after; Redis gone mid-stream ends the stream (the page reconnects) and the drafts read on once
it is back; an answer is added once, and one sent while Redis is gone is retried later; the
drafts reader makes its group again when the stream went, and drops a draft it cannot read.
The embed script names the chat of the host that served it."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.web import WebChatAdapter
from channels.src.adapters.web_drafts import DraftReader
from channels.src.intake import Intake
from channels.src.main import create_app
from channels.src.settings import Settings
from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.errors import RetryLater
from common.infrastructure.queue_messages import DraftMessage, OutgoingMessage
from common.infrastructure.redis_keys import CHANNEL_DRAFTS, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.serve import served_in_this_loop
from ops.infra import free_port
from tests.redis_clients import QUICK_RETRY_SETTINGS, quick_retries
from tests.streams import stream_entries
from tests.tcp_proxy import TcpProxy
from tests.waiting import until

SECRET = "web-chat-secret-" + "y" * 16
Event = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    target = urlparse(redis_url)
    made = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await made.start()
    yield made
    await made.stop()


def adapter(redis: aioredis.Redis, names: Names) -> WebChatAdapter:
    settings = Settings(_env_file=None, environment="test", web_chat_secret=SecretStr(SECRET))
    rest = RestClient("http://127.0.0.1:9", "unused")  # sending asks rest_service nothing
    return WebChatAdapter(AdapterContext(settings, redis, names, Intake(rest, redis, names), rest))


def answer(visitor: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=channel_chat_number(Channel.WEB, visitor), text=text,
        channel=Channel.WEB, channel_chat_id=visitor,
    )  # fmt: skip


class Page:
    """A visitor's page: its cookie, and the events it reads."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.visitor = ""

    async def open(self, writer: WebChatAdapter) -> None:
        assert (await self.http.get("/chat")).status_code == 200
        self.visitor = writer.visitor_of(self.http.cookies.get("sa_chat")) or ""
        assert self.visitor

    async def read(self, count: int, last_event_id: str | None = None) -> list[Event]:
        """The next `count` events from after `last_event_id`; fewer when the stream ends."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        found: list[Event] = []
        event_id = kind = ""
        async with self.http.stream("GET", "/chat/events", headers=headers) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = line.removeprefix("id: ")
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    found.append((event_id, kind, json.loads(line.removeprefix("data: "))))
                    if len(found) == count:
                        break
        return found


@pytest.fixture
async def served(
    proxy: TcpProxy, redis: aioredis.Redis, key_prefix: str
) -> AsyncIterator[tuple[Page, WebChatAdapter]]:
    """The channels app with the web chat, its Redis behind `proxy`; a page opened on it,
    and an adapter writing to the same Redis directly (another replica's sender)."""
    settings = Settings(
        _env_file=None, environment="test", redis_url=f"redis://127.0.0.1:{proxy.port}/0",
        redis_key_prefix=key_prefix, web_chat_secret=SecretStr(SECRET),
        **QUICK_RETRY_SETTINGS,
    )  # fmt: skip
    app = create_app(settings, {Channel.WEB: WebChatAdapter})
    async with served_in_this_loop(app, free_port()) as url:
        page = Page(url)
        writer = adapter(redis, Names(key_prefix))
        await page.open(writer)
        yield page, writer
        await page.http.aclose()


async def test_a_page_that_reconnects_gets_only_what_came_after_what_it_saw(
    served: tuple[Page, WebChatAdapter],
) -> None:
    page, writer = served
    for text in ("first", "second"):
        await writer.send(answer(page.visitor, text))
    (seen_id, _, first), (second_id, _, second) = await page.read(2)
    assert (first["html"], second["html"]) == ("<p>first</p>\n", "<p>second</p>\n")
    await writer.send(answer(page.visitor, "third"))
    ((third_id, kind, third),) = await page.read(1, last_event_id=second_id)
    assert (kind, third["html"]) == ("answer", "<p>third</p>\n")
    assert seen_id < second_id < third_id
    # a Last-Event-ID that is not one of ours reads from the start
    assert [e[2]["html"] for e in await page.read(3, "1-x")] == [first["html"], second["html"],
                                                                third["html"]]  # fmt: skip


async def test_redis_gone_mid_stream_ends_it_and_drafts_read_on_once_it_is_back(
    served: tuple[Page, WebChatAdapter], proxy: TcpProxy, redis: aioredis.Redis, key_prefix: str
) -> None:
    page, writer = served
    await writer.send(answer(page.visitor, "before"))
    ((seen, _, _),) = await page.read(1)
    reading = asyncio.create_task(page.read(2, last_event_id=seen))
    await proxy.stop()
    assert await asyncio.wait_for(reading, 30) == [], "the stream ended, nothing lost"
    await proxy.start()
    names = Names(key_prefix)
    draft = DraftMessage(
        message_id=uuid.uuid4(), chat_id=channel_chat_number(Channel.WEB, page.visitor),
        text="Thinking **hard**", seq=1, channel=Channel.WEB, channel_chat_id=page.visitor,
    )  # fmt: skip

    async def shown() -> list[Event] | None:
        await redis.xadd(names.stream(CHANNEL_DRAFTS), {"data": draft.model_dump_json()})
        drafts = [e for e in await page.read(1, last_event_id=seen) if e[1] == "draft"]
        return drafts or None

    (_, _, body), *_ = await until(shown, 30, "a draft shown after the outage")
    assert body["html"] == "<p>Thinking <strong>hard</strong></p>\n"


async def test_an_answer_is_added_once_and_one_sent_without_redis_is_retried(
    redis: aioredis.Redis, key_prefix: str, proxy: TcpProxy
) -> None:
    names = Names(key_prefix)
    web = adapter(redis, names)
    message = answer("visitor-1", "once")
    await web.send(message)
    await web.send(message)
    assert len(await stream_entries(redis, names.web_chat("visitor-1"))) == 1
    cut = quick_retries(aioredis.Redis(port=proxy.port))
    await proxy.stop()
    try:
        with pytest.raises(RetryLater):
            await adapter(cut, names).send(answer("visitor-1", "later"))
    finally:
        await cut.aclose()


async def test_a_picture_drawn_goes_into_the_answer_as_a_data_url_and_its_blob_is_deleted(
    redis: aioredis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    blobs = BlobStore(redis, names)
    picture = b"\x89PNG\r\n\x1a\n" + bytes(16)
    key = await blobs.put(picture)
    web = adapter(redis, names)
    drawn = answer("visitor-2", "Your **cat**").model_copy(update={"photo_blob_key": key})
    gone = answer("visitor-2", "expired").model_copy(update={"photo_blob_key": names.blob("x")})
    await web.send(drawn)
    await web.send(gone)
    bodies = [
        json.loads(f[b"body"]) for _, f in await stream_entries(redis, names.web_chat("visitor-2"))
    ]
    assert bodies[0]["picture"] == "data:image/png;base64," + base64.b64encode(picture).decode()
    assert bodies[0]["html"] == "<p>Your <strong>cat</strong></p>\n"
    assert "picture" not in bodies[1]
    assert await blobs.get(key) is None


async def test_the_embed_script_opens_the_chat_of_the_host_that_served_it(
    served: tuple[Page, WebChatAdapter],
) -> None:
    page, _ = served
    script = await page.http.get("/chat/embed.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert f'const url = "{page.http.base_url}chat";' in script.text.replace('/chat"', 'chat"')


async def test_the_drafts_reader_makes_its_group_again_and_drops_what_it_cannot_read(
    redis: aioredis.Redis, redis_url: str, key_prefix: str
) -> None:
    names = Names(key_prefix)
    shown: list[str] = []

    async def show(draft: DraftMessage) -> None:
        shown.append(draft.text)

    stream = names.stream(CHANNEL_DRAFTS)
    own = aioredis.Redis.from_url(redis_url)  # the reader's, as in its own service
    reader = asyncio.create_task(DraftReader(own, names, show).run())
    try:
        await until(lambda: redis.exists(stream), 10, "the group made")

        def draft(text: str) -> str:
            return DraftMessage(message_id=uuid.uuid4(), chat_id=1, text=text).model_dump_json()

        await redis.xadd(stream, {b"data": b"{not json"})
        await redis.xadd(stream, {"data": draft("one")})
        await until(lambda: shown == ["one"] or None, 10, "the readable draft shown")
        await redis.delete(stream)  # trimmed away, flushed: the group goes with it

        async def after() -> bool:
            await redis.xadd(stream, {"data": draft("two")})
            return "two" in shown

        await until(after, 20, "a draft shown after the stream went")
    finally:
        reader.cancel()
        await own.aclose()
