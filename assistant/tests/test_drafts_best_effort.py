"""Drafts are a preview: with Redis unreachable the answer's drafts stop after the first
failure (one warning, not one a token), and the turn goes on to its final answer."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis
from structlog.testing import capture_logs

from assistant.src.drafts import DraftPublisher
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.redis_keys import Names


async def test_with_redis_unreachable_drafts_stop_quietly_after_one_warning() -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    message = IncomingMessage(message_id=uuid.uuid4(), chat_id=42, user_id=uuid.uuid4(), text="hi")
    drafts = DraftPublisher(dead, Names("test:"), message, interval_s=0.0)
    try:
        with capture_logs() as logs:
            await drafts.text("The weather")
            await drafts.status("Checking the weather…")
            await drafts.text("The weather in Oslo is")
    finally:
        await dead.aclose()
    warned = [e for e in logs if e["event"] == "draft_not_published"]
    assert len(warned) == 1, logs
