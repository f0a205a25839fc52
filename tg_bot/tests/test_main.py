"""The worker as a whole (tg_bot's real `main`): it answers though Telegram refuses its
command menu, /health tells when Telegram stops answering the poller or webhook updates stop
getting queued, and a webhook POST before the bot knows who it is is sent back for later."""

from __future__ import annotations

import json
import random

import httpx

from common.infrastructure.redis_keys import TO_SECRETARY
from sandbox import telegram_updates as build
from sandbox.telegram_webhook import SECRET_HEADER
from tests.waiting import until
from tg_bot.tests.conftest import incoming

SECRET = "s3cret_-X" * 4


def stranger() -> dict:
    return build.user(random.randint(10**8, 10**9), "Anna")


async def degraded(http: httpx.AsyncClient, url: str) -> dict | None:
    response = await http.get(url)
    return response.json() if response.status_code == 503 else None


async def healthy(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url)).status_code == 200


async def test_with_its_command_menu_refused_and_live_answers_off_the_bot_still_answers(
    run_bot, telegram
) -> None:
    telegram.fail("setMyCommands", status=400, description="Bad Request: odd", times=10)
    anna = stranger()
    async with run_bot(ALLOWED_TELEGRAM_IDS="5", STREAM_ANSWERS="false"):
        telegram.inject(build.private_text(anna, "hello?"))
        [refusal] = await telegram.wait_sent(1, anna["id"])
    assert str(anna["id"]) in refusal.text
    assert {r.method for r in telegram.rejected} == {"setMyCommands"}
    assert telegram.commands == {}


async def test_health_is_degraded_while_telegram_does_not_answer_the_poller(
    run_bot, telegram, bot_env
) -> None:
    url = f"http://127.0.0.1:{bot_env['HTTP_PORT']}/health"
    forced = telegram.fail("getUpdates", status=502, times=10**6)
    async with run_bot(TELEGRAM_UNHEALTHY_AFTER_SECONDS="0.5"), httpx.AsyncClient() as http:
        body = await until(lambda: degraded(http, url), 20, "health degraded")
        forced.times = 0
        await until(lambda: healthy(http, url), 20, "health back")
    assert "no answer from Telegram" in json.dumps(body)


async def test_in_webhook_mode_health_is_degraded_while_updates_fail_to_queue(
    run_bot, telegram, redis, names, rest_url, webhook_url, bot_env
) -> None:
    url = f"http://127.0.0.1:{bot_env['HTTP_PORT']}/health"
    await redis.set(names.stream(TO_SECRETARY), "not a stream")  # every XADD there fails
    async with (
        run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, TELEGRAM_UNHEALTHY_AFTER_SECONDS="0.5"),
        httpx.AsyncClient() as http,
    ):
        await until(lambda: telegram.webhook.active, 20, "the webhook set")
        assert await healthy(http, url)
        telegram.inject(build.private_text(stranger(), "anyone?"))
        body = await until(lambda: degraded(http, url), 20, "health degraded")
        await redis.delete(names.stream(TO_SECRETARY))
        await until(lambda: incoming(redis, names), 20, "the update queued")
        await until(lambda: healthy(http, url), 20, "health back")
    assert "webhook updates not queued" in json.dumps(body)


async def test_a_webhook_post_before_the_bot_knows_who_it_is_is_sent_back_for_later(
    run_bot, telegram, webhook_url
) -> None:
    """Telegram does not answer getMe: the webhook cannot take updates yet (503, Telegram
    delivers them again), and the bot still stops cleanly."""
    telegram.fail("getMe", status=502, times=10**6)
    update = {"update_id": 1, **build.private_text(stranger(), "early")}
    async with (
        run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, TELEGRAM_WEBHOOK_SECRET=SECRET),
        httpx.AsyncClient() as http,
    ):
        response = await http.post(webhook_url, json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert telegram.calls.get("setWebhook") is None


async def test_while_the_webhook_cannot_be_removed_the_bot_does_not_poll_and_still_stops(
    run_bot, telegram
) -> None:
    """Polling while a webhook is set is refused (409): deleteWebhook comes first, retried."""
    telegram.fail("deleteWebhook", status=502, times=10**6)
    async with run_bot():
        await until(lambda: telegram.calls.get("deleteWebhook", 0) >= 2, 20, "asked again")
    assert "getUpdates" not in telegram.calls
