"""Dead letters in the admin over HTTP: ids are per stream, so each row's links and Replay
name their stream (with the same id on two streams, Replay once answered "name one" and the
admin had no way to); a Telegram update tg_bot could not queue is listed and shown, never
offered for replay."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import TELEGRAM_UPDATES, TO_SECRETARY, TO_TELEGRAM, Names
from rest_service.tests.test_admin import ORIGIN, login
from tests.streams import Fields, stream_entries

SHARED_ID = "1700000000000-0"


@pytest.fixture
async def admin(client: httpx.AsyncClient, secrets: dict[str, str]) -> httpx.AsyncClient:
    await login(client, secrets["ADMIN_API_TOKEN"])
    return client


async def dead(redis: aioredis.Redis, names: Names, stream: str, text: str) -> None:
    data = json.dumps({"message_id": str(uuid.uuid4()), "chat_id": 1, "text": text})
    fields: Fields = {"data": data, "stream": stream, "error": f"boom on {stream}", "attempts": "5"}
    await redis.xadd(names.dead(stream), fields, id=SHARED_ID)


async def test_each_dead_letter_is_shown_and_replayed_from_its_own_stream(
    admin: httpx.AsyncClient,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    for stream in (TO_SECRETARY, TO_TELEGRAM, TELEGRAM_UPDATES):
        await dead(redis, names, stream, f"text for {stream}")

    page = (await admin.get("/admin/dead-letters")).text
    assert page.count('class="dlq-row"') == 3
    assert page.count("replay-button") == 2 and "not replayable" in page
    assert f"/admin/dead-letters/{SHARED_ID}?stream=tg_bot%3Aupdates" in page

    shown = await admin.get(f"/admin/dead-letters/{SHARED_ID}?stream={TELEGRAM_UPDATES}")
    assert "text for tg_bot:updates" in shown.text and "dlq-error" not in shown.text
    assert "replay-button" not in shown.text.split('id="dlq-entry"')[1]

    replayed = await admin.post(
        f"/admin/dead-letters/{SHARED_ID}/replay?stream={TO_TELEGRAM}", headers=ORIGIN
    )
    assert replayed.status_code == 303 and "replayed=" in replayed.headers["location"]
    [(_, fields)] = await stream_entries(redis, names.stream(TO_TELEGRAM))
    assert json.loads(fields[b"data"])["text"] == f"text for {TO_TELEGRAM}"
    assert await redis.xlen(names.dead(TO_SECRETARY)) == 1

    refused = await admin.post(
        f"/admin/dead-letters/{SHARED_ID}/replay?stream={TELEGRAM_UPDATES}", headers=ORIGIN
    )
    assert refused.status_code == 303 and "Telegram" in refused.headers["location"]
    assert await redis.xlen(names.dead(TELEGRAM_UPDATES)) == 1
