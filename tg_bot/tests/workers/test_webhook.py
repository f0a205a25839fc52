"""Webhook mode: Telegram (the stand-in) POSTs updates to tg_bot's HTTP server with the secret
header; they are queued through the polling path's one Redis call, refused without the right
secret, queued once however often they are delivered, and held back (5xx, so Telegram sends
them again) while they cannot be queued. Switching modes either way keeps receiving."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession, web

from common.infrastructure.redis_keys import TO_SECRETARY
from ops.infra import free_port
from ops.processes import Stack
from sandbox import telegram_updates as build
from sandbox.telegram_webhook import GET_UPDATES_CONFLICT, SECRET_HEADER
from tests.redis_topologies import full_redis
from tests.waiting import until
from tg_bot.src.workers.webhook import MAX_BODY_BYTES
from tg_bot.tests.conftest import FAST_BOT, incoming, outgoing

#: A configured secret as an operator would set one (32-256 of the Bot API's characters).
SECRET = "s3cret_-X" * 4


def someone(name: str = "Anna") -> dict:
    return build.user(random.randint(10**8, 10**9), name, username=f"u{uuid.uuid4().hex[:8]}",
                      language_code="en")  # fmt: skip


async def webhook_set(telegram) -> str:
    await until(lambda: _true(telegram.webhook.active), timeout=20)
    return str(telegram.webhook.secret_token)


async def _true(value: object) -> bool:
    return bool(value)


async def queued_texts(redis, names) -> list[str]:
    return [m.text for m in await incoming(redis, names)]


async def test_updates_are_delivered_by_webhook_and_answered(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    anna, boris = someone(), someone("Boris")
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url):
        secret = await webhook_set(telegram)
        update_id = telegram.inject(build.private_text(anna, "What's on today?"))
        telegram.inject(build.command(build.private_chat(boris), boris, "help"))
        [message] = await until(lambda: incoming(redis, names), timeout=20)
        [answer] = await telegram.wait_sent(1, boris["id"], timeout=20)
        info = await _bot_api(telegram, "getWebhookInfo")
        async with httpx.AsyncClient() as http:
            health = (await http.get(webhook_url.replace("/telegram/webhook", "/health"))).json()
    stored = await redis.get(names.telegram_webhook_secret(telegram.bot_id))
    assert (message.chat_id, message.text) == (anna["id"], "What's on today?")
    assert "/help" in answer.text  # the bot's own answer, sent by this bot
    assert telegram.webhook.url == webhook_url and stored.decode() == secret
    assert len(secret) >= 64  # generated: token_urlsafe(48)
    assert telegram.webhook.allowed_updates == [
        "message", "edited_message", "callback_query", "my_chat_member"
    ]  # fmt: skip
    assert telegram.calls.get("getUpdates", 0) == 0 and telegram.polls == []
    assert info["pending_update_count"] == 0 and "last_error_message" not in info
    assert [d.status for d in telegram.webhook.deliveries if d.update_id == update_id] == [200]
    assert await redis.exists(names.telegram_webhook_seen(telegram.bot_id, update_id))
    assert health["checks"]["telegram"] == {"ok": True, "role": "webhook"}


async def test_with_rest_service_down_an_update_waits_at_telegram(
    run_bot, telegram, redis, names, webhook_url
) -> None:
    """No rest_service (the fixture points the bot at a closed port): the user cannot be
    looked up, the answer is 503, Telegram keeps the update and sends it again."""
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url):
        await webhook_set(telegram)
        update_id = telegram.inject(build.private_text(someone(), "are you there?"))

        async def refused_twice() -> bool:
            statuses = [d.status for d in telegram.webhook.deliveries if d.update_id == update_id]
            return statuses[:2] == [503, 503]

        await until(refused_twice, timeout=30)
        assert [u["update_id"] for u in telegram.updates] == [update_id]
    assert await incoming(redis, names) == []
    assert not await redis.exists(names.telegram_webhook_seen(telegram.bot_id, update_id))


async def test_an_update_in_flight_when_the_bot_stops_is_left_to_telegram_not_apologised_for(
    run_bot, telegram, redis, names, webhook_url, balancer: RoundRobin
) -> None:
    """Stopping while a delivery waits on rest_service: the clients it uses stay open until
    it is answered (503), so the update is neither marked seen nor answered with an apology,
    and Telegram delivers it to the next replica. Deliveries pass a proxy that sees when one
    has reached the bot and is not answered yet."""
    balancer.backends = [webhook_url.removesuffix("/telegram/webhook")]
    async with run_bot(TELEGRAM_WEBHOOK_URL=f"{balancer.url}/telegram/webhook"):
        await webhook_set(telegram)
        update_id = telegram.inject(build.private_text(someone(), "are you there?"))

        async def refused_once() -> bool:
            return any(d.update_id == update_id for d in telegram.webhook.deliveries)

        await until(refused_once, timeout=30)
        # the next delivery is at the bot, retrying the user lookup
        await until(lambda: balancer.unanswered > 0, 30, "a delivery in flight", interval=0.005)
    statuses = [d.status for d in telegram.webhook.deliveries if d.update_id == update_id]
    assert 200 not in statuses
    assert not await redis.exists(names.telegram_webhook_seen(telegram.bot_id, update_id))
    assert await outgoing(redis, names) == []  # no apology


async def test_a_delivery_outlasting_the_stop_grace_is_cut_short_with_a_503(
    run_bot, telegram, redis, names, webhook_url, balancer: RoundRobin
) -> None:
    """rest_service takes the user lookup and never answers: once the stop grace is over the
    delivery is answered 503, not failed against a closed client (which marked the update
    seen and answered it 200, lost)."""
    balancer.backends = [webhook_url.removesuffix("/telegram/webhook")]
    asked = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # the bot asks for its bots at start too: only the sender's lookup means the
        # delivery is in flight at the bot
        if (await reader.readline()).startswith(b"POST /api/users/"):
            asked.set()
        await reader.read()  # until the bot gives up the connection
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    async with (
        silent,
        run_bot(
            TELEGRAM_WEBHOOK_URL=f"{balancer.url}/telegram/webhook",
            REST_SERVICE_URL=f"http://127.0.0.1:{port}",
        ),
    ):
        await webhook_set(telegram)
        update_id = telegram.inject(build.private_text(someone(), "are you there?"))
        await until(asked.is_set, 30, "the sender's lookup at rest_service")
    statuses = [d.status for d in telegram.webhook.deliveries if d.update_id == update_id]
    # Telegram sends a refused update again: a retry landing while the bot still stops is
    # refused too (503), or finds it gone; none is taken.
    assert statuses[0] == 503
    assert not [status for status in statuses if 200 <= status < 300]
    assert not await redis.exists(names.telegram_webhook_seen(telegram.bot_id, update_id))
    assert await outgoing(redis, names) == []  # no apology


async def test_a_wrong_or_missing_secret_or_a_huge_body_is_refused_and_nothing_queued(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    anna = someone()
    update = build.private_text(anna, "let me in")
    update["message"].update(message_id=1, date=1_700_000_000)
    body = json.dumps({"update_id": 7, **update})
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url), httpx.AsyncClient() as http:
        secret = await webhook_set(telegram)
        refused = [
            await http.post(webhook_url, content=body),
            await http.post(webhook_url, content=body, headers={SECRET_HEADER: "wrong"}),
            await http.post(webhook_url, content=body, headers={SECRET_HEADER: secret[:-1]}),
            await http.post(webhook_url, content=body, headers={SECRET_HEADER: secret + "x"}),
        ]
        assert [r.status_code for r in refused] == [401] * 4
        too_large = json.dumps({"update_id": 8, "padding": "x" * MAX_BODY_BYTES})
        answer = await http.post(webhook_url, content=too_large, headers={SECRET_HEADER: secret})
        assert answer.status_code == 413
        streamed = await http.post(  # chunked: no Content-Length to refuse it by
            webhook_url, content=_chunks(MAX_BODY_BYTES + 1), headers={SECRET_HEADER: secret}
        )
        assert streamed.status_code == 413
        assert await incoming(redis, names) == []
        accepted = await http.post(webhook_url, content=body, headers={SECRET_HEADER: secret})
        assert accepted.status_code == 200
        assert await queued_texts(redis, names) == ["let me in"]


async def _chunks(size: int) -> AsyncIterator[bytes]:
    """`size` bytes of a body streamed in 64 KiB chunks."""
    for start in range(0, size, 65536):
        yield b"x" * min(65536, size - start)


async def test_a_configured_secret_is_used_and_not_stored(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, TELEGRAM_WEBHOOK_SECRET=SECRET):
        assert await webhook_set(telegram) == SECRET
        telegram.inject(build.private_text(someone(), "hello"))
        await until(lambda: incoming(redis, names), timeout=20)
    assert not await redis.exists(names.telegram_webhook_secret(telegram.bot_id))


async def _has_later(redis, names) -> bool:
    return "later" in await queued_texts(redis, names)


async def test_a_redelivered_update_is_queued_and_answered_once(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    anna, boris = someone(), someone("Boris")
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url):
        await webhook_set(telegram)
        telegram.webhook.lose_answers = 1  # the bot's 200 goes unheard: Telegram sends again
        text_id = telegram.inject(build.private_text(anna, "once, please"))
        await until(lambda: _true(not telegram.updates), timeout=20)
        telegram.webhook.lose_answers = 1
        help_id = telegram.inject(build.command(build.private_chat(boris), boris, "help"))
        await until(lambda: _true(not telegram.updates), timeout=20)
        await telegram.wait_sent(1, boris["id"], timeout=20)
        telegram.inject(build.private_text(anna, "later"))  # the redeliveries came before
        await until(lambda: _true(not telegram.updates), timeout=20)
        await until(lambda: _has_later(redis, names), timeout=20)
    statuses = {
        update_id: [d.status for d in telegram.webhook.deliveries if d.update_id == update_id]
        for update_id in (text_id, help_id)
    }
    assert statuses == {text_id: [0, 200], help_id: [0, 200]}
    assert await queued_texts(redis, names) == ["once, please", "later"]
    assert len(telegram.sent_to(boris["id"])) == 1


async def test_an_update_that_cannot_be_queued_is_answered_5xx_and_comes_again(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    await redis.set(names.stream(TO_SECRETARY), "not a stream")  # every XADD there fails
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url):
        await webhook_set(telegram)
        update_id = telegram.inject(build.private_text(someone(), "keep me"))

        async def refused_twice() -> bool:
            return [d.status for d in telegram.webhook.deliveries][:2] == [503, 503]

        await until(refused_twice, timeout=20)
        info = await _bot_api(telegram, "getWebhookInfo")
        assert info["pending_update_count"] == 1
        assert "503" in info["last_error_message"]
        await redis.delete(names.stream(TO_SECRETARY))
        await until(lambda: incoming(redis, names), timeout=20)
    assert await queued_texts(redis, names) == ["keep me"]
    assert telegram.webhook.deliveries[-1].update_id == update_id
    assert telegram.webhook.deliveries[-1].status == 200


async def test_switching_polling_to_webhook_and_back_keeps_receiving(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    anna = someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "polled"))
        await until(lambda: incoming(redis, names), timeout=20)
    assert not telegram.webhook.active and telegram.calls["deleteWebhook"] == 1
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url):
        await webhook_set(telegram)
        telegram.inject(build.private_text(anna, "posted"))
        await until(lambda: _count(redis, names, 2), timeout=20)
    polls_before = len(telegram.polls)
    # while no bot runs, Telegram keeps the update for the webhook (deliveries fail)
    telegram.inject(build.private_text(anna, "waited"))
    await until(lambda: _true(telegram.webhook.last_error_message), timeout=20)
    async with run_bot(TELEGRAM_WEBHOOK_URL=""):  # back to polling: the webhook goes
        await until(lambda: _count(redis, names, 3), timeout=20)
        assert not telegram.webhook.active
        telegram.inject(build.private_text(anna, "polled again"))
        await until(lambda: _count(redis, names, 4), timeout=20)
    assert await queued_texts(redis, names) == ["polled", "posted", "waited", "polled again"]
    assert len(telegram.polls) > polls_before
    assert not [r for r in telegram.rejected if r.method == "getUpdates" and r.status == 409]


async def _count(redis, names, count: int) -> bool:
    return len(await incoming(redis, names)) >= count


async def test_the_stand_in_refuses_get_updates_while_a_webhook_is_set(telegram) -> None:
    await _bot_api(telegram, "setWebhook", url="http://127.0.0.1:9/hook", secret_token="abc")
    async with httpx.AsyncClient() as http:
        conflict = await http.post(f"{telegram.url}/bot{telegram.token}/getUpdates", json={})
        bad = await http.post(
            f"{telegram.url}/bot{telegram.token}/setWebhook",
            json={"url": "http://127.0.0.1:9/hook", "secret_token": "no spaces"},
        )
    assert conflict.status_code == 409
    assert conflict.json()["description"] == GET_UPDATES_CONFLICT
    assert bad.status_code == 400
    info = await _bot_api(telegram, "getWebhookInfo")
    assert info["url"] == "http://127.0.0.1:9/hook"
    assert await _bot_api(telegram, "deleteWebhook", drop_pending_updates=False) is True
    assert await _bot_api(telegram, "getUpdates", timeout=0) == []
    assert (await _bot_api(telegram, "getWebhookInfo"))["url"] == ""


async def _bot_api(telegram, method: str, **params: object) -> Any:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{telegram.url}/bot{telegram.token}/{method}", json=params)
    response.raise_for_status()
    return response.json()["result"]


# -- replicas behind a load balancer, as real processes ---------------------------------------


class RoundRobin:
    """A load balancer in front of the tg_bot replicas: each request to the next one."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.served: list[str] = []
        #: Requests passed on to a backend and not answered yet.
        self.unanswered = 0
        self._next = 0
        self._runner: web.AppRunner | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RoundRobin:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        if not self.backends:
            return web.Response(status=502)
        backend = self.backends[self._next % len(self.backends)]
        self._next += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        body = await request.read()
        self.unanswered += 1
        try:
            async with (
                ClientSession() as http,
                http.post(backend + request.path, data=body, headers=headers) as answer,
            ):
                self.served.append(f"{backend} {answer.status}")
                return web.Response(status=answer.status, body=await answer.read())
        finally:
            self.unanswered -= 1


@pytest.fixture
async def balancer() -> AsyncIterator[RoundRobin]:
    async with RoundRobin() as running:
        yield running


@pytest.mark.e2e  # starts processes in its body
async def test_two_replicas_behind_a_load_balancer_both_receive(
    telegram, bot_env, rest_url, redis, names, balancer: RoundRobin, tmp_path: Path
) -> None:
    env = {**bot_env, **FAST_BOT, "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{balancer.port}"
           "/telegram/webhook"}  # fmt: skip
    env.pop("HTTP_PORT")
    stack = Stack(env, tmp_path)
    try:
        first, second = await asyncio.gather(
            asyncio.to_thread(stack.start, "tg_bot", name="tg_bot_1"),
            asyncio.to_thread(stack.start, "tg_bot", name="tg_bot_2"),
        )
        balancer.backends = [first.url, second.url]
        await webhook_set(telegram)
        people = [someone(f"P{i}") for i in range(6)]
        for person in people:
            telegram.inject(build.private_text(person, f"hi from {person['first_name']}"))
        await until(lambda: _count(redis, names, 6), timeout=30)
        asking = someone("Help")
        telegram.inject(build.command(build.private_chat(asking), asking, "help"))
        [answer] = await telegram.wait_sent(1, asking["id"], timeout=30)
    finally:
        await asyncio.to_thread(stack.stop_all)
    texts = sorted(await queued_texts(redis, names))
    assert texts == sorted(f"hi from P{i}" for i in range(6))
    served_by = {line.split()[0] for line in balancer.served if line.endswith(" 200")}
    assert served_by == {first.url, second.url}
    assert "/help" in answer.text
    assert telegram.calls.get("setWebhook", 0) >= 2 and telegram.calls.get("getUpdates", 0) == 0


async def test_a_redis_full_for_a_webhook_update_tells_the_sender_once_then_queues_it(
    run_bot, telegram, rest_url, names, webhook_url, tmp_path
) -> None:
    """As in polling: Redis at its `maxmemory` refuses the update; Telegram delivers it again,
    and after a while of refusals the private sender hears so, once. When Redis has room
    again the update is queued."""
    mia = someone("Mia")
    with full_redis(tmp_path, "64mb") as server:
        client = aioredis.Redis.from_url(server.url)
        try:
            async with run_bot(
                REDIS_URL=server.url,
                TELEGRAM_WEBHOOK_URL=webhook_url,
                REDIS_FULL_NOTICE_AFTER_SECONDS="0.5",
            ):
                await webhook_set(telegram)
                await client.config_set("maxmemory", "1")  # every write refused from now
                telegram.inject(build.private_text(mia, "hello there"))
                [told] = await telegram.wait_sent(1, mia["id"], timeout=30)
                assert "out of room" in told.text
                assert {d.status for d in telegram.webhook.deliveries} == {503}
                await client.config_set("maxmemory", "64mb")
                [queued] = await until(lambda: incoming(client, names), timeout=30)
            assert queued.text == "hello there"
            assert len(telegram.sent_to(mia["id"])) == 1  # told once
        finally:
            await client.aclose()


async def test_one_update_delivered_twice_at_once_is_queued_once(
    run_bot, telegram, redis, names, rest_url, webhook_url
) -> None:
    """Telegram retrying while the first delivery is still being handled (a slow answer):
    both are answered 200 (neither comes again), one message is queued."""
    anna = someone()
    update = {"update_id": random.randint(10**6, 10**7), **build.private_text(anna, "twice?")}
    update["message"] |= {"message_id": 7, "date": int(time.time())}
    headers = {SECRET_HEADER: SECRET}
    async with (
        run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, TELEGRAM_WEBHOOK_SECRET=SECRET),
        httpx.AsyncClient(timeout=20) as http,
    ):
        await webhook_set(telegram)
        answers = await asyncio.gather(
            *(http.post(webhook_url, json=update, headers=headers) for _ in range(2))
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert await queued_texts(redis, names) == ["twice?"]
