"""Live answers: the answer so far, published to `queue:drafts` while the model writes it.

Best effort by design: a draft is only a preview that tg_bot shows and the final answer
replaces, so publishing is throttled (`stream_publish_interval_seconds`), the stream is
trimmed (`MAXLEN ~`), and a Redis failure stops this answer's drafts instead of failing
the turn. Only a person's turn in a drafted channel (`DRAFTED_CHANNELS`: Telegram, the web chat,
the public API) is streamed, the channels service's on `queue:channel_drafts`: cron prompts,
`./manage.py chat`, the channels that cannot edit a message and sub-assistants are not.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

from assistant.src.settings import Settings
from common.infrastructure.channels import DRAFTED_CHANNELS, answer_stream, draft_stream
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    DraftMessage,
    IncomingMessage,
    answer_message_id,
)
from common.infrastructure.redis_keys import Names

log = get_logger(__name__)

DRAFTS_PUBLISHED = Counter(
    "smart_assistant_assistant_drafts_published_total", "Drafts of live answers", ["kind"]
)

#: Entries `queue:drafts` keeps (about): drafts are read within a second or dropped as stale.
DRAFTS_MAXLEN = 10_000


class DraftPublisher:
    """The drafts of one answer: its id, a growing `seq`, the whole text so far."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        message: IncomingMessage,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._stream = names.stream(draft_stream(message.channel))
        self._message = message
        self._answer_id = answer_message_id(message.message_id)
        self._interval_s = interval_s
        self._clock = clock
        self._seq = 0
        self._last_at = -math.inf
        self._text = ""
        self._broken = False

    async def text(self, text: str) -> None:
        """The text so far (a `TextSink`): published when the interval since the last
        draft has passed; what grows in between goes out with the next one or the final."""
        self._text = text
        if self._clock() - self._last_at >= self._interval_s:
            await self._publish(None)

    async def status(self, status: str) -> None:
        """A tool is running: shown at once, under the text so far."""
        await self._publish(status)

    async def _publish(self, status: str | None) -> None:
        if self._broken:
            return
        self._seq += 1
        self._last_at = self._clock()
        message = self._message
        draft = DraftMessage(
            message_id=self._answer_id,
            chat_id=message.chat_id,
            chat_type=message.chat_type,
            correlation_id=str(message.message_id),
            text=self._text,
            status=status,
            seq=self._seq,
            message_thread_id=message.message_thread_id,
            reply_to_telegram_message_id=message.telegram_message_id,
            bot_id=message.bot_id,
            channel=message.channel,
            channel_chat_id=message.channel_chat_id,
            channel_thread_id=message.channel_thread_id,
        )
        try:
            await self._redis.xadd(
                self._stream, {"data": draft.to_json()}, maxlen=DRAFTS_MAXLEN, approximate=True
            )
        except (RedisError, OSError) as exc:
            self._broken = True  # the final answer still goes out on its own stream
            log.warning("draft_not_published", error=str(exc)[:200])
            return
        DRAFTS_PUBLISHED.labels("status" if status else "text").inc()


def drafts_for(
    message: IncomingMessage, settings: Settings, redis: aioredis.Redis, names: Names
) -> DraftPublisher | None:
    """A publisher when this message's answer is streamed (a person writing in a drafted
    channel, answered there), else None."""
    if not settings.stream_answers:
        return None
    channel = message.channel
    person = message.source.value == channel.value  # not a scheduled prompt, not the cli
    answered_there = message.reply_stream == answer_stream(channel)
    if not (person and channel in DRAFTED_CHANNELS and answered_there):
        return None
    return DraftPublisher(redis, names, message, settings.stream_publish_interval_seconds)
