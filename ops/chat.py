"""`./manage.py chat`: talk to the configured assistant through the queues, bypassing
Telegram. Answers come back on a reply stream of this session's own."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any, cast

import redis.asyncio as aioredis

from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage, Source
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient


class ChatTimeout(TimeoutError):
    pass


class ChatSession:
    """One terminal user: a rest_service user, a private chat id, a reply stream."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        rest: RestClient,
        telegram_id: int,
        name: str,
        language: str | None,
    ) -> None:
        self._redis = redis
        self._names = names
        self._rest = rest
        self.telegram_id = telegram_id
        self.name = name
        self.language = language
        self.reply_stream = f"queue:cli:{uuid.uuid4().hex[:12]}"
        self._user_id: uuid.UUID | None = None
        self._last_id = "0-0"
        self._asked = False

    async def open(self) -> None:
        user, _created = await self._rest.get_or_create_user(
            self.telegram_id,
            username=f"cli_{self.telegram_id}",
            first_name=self.name,
            language=self.language,
        )
        self._user_id = user.id

    async def close(self) -> None:
        """The reply stream goes; before a first question there is none, and Redis is not
        asked (when it is down, its retries would hide why the session ended)."""
        if self._asked:
            await self._redis.delete(self._names.stream(self.reply_stream))

    async def ask(self, text: str, timeout: float = 120.0) -> list[OutgoingMessage]:
        """Send `text`; return the answer (its parts) once it has arrived."""
        assert self._user_id, "open() first"
        message = IncomingMessage(
            message_id=uuid.uuid4(),
            source=Source.CLI,
            reply_stream=self.reply_stream,
            chat_id=self.telegram_id,
            user_id=self._user_id,
            telegram_user_id=self.telegram_id,
            username=f"cli_{self.telegram_id}",
            first_name=self.name,
            language_code=self.language,
            text=text,
        )
        self._asked = True
        await StreamPublisher(self._redis, self._names).publish(TO_SECRETARY, message)
        return await self._answer_to(str(message.message_id), timeout)

    async def _answer_to(self, message_id: str, timeout: float) -> list[OutgoingMessage]:
        key = self._names.stream(self.reply_stream)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            found = cast(
                "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None",
                # at least 1 ms: BLOCK 0 is Redis's "until an entry comes"
                await self._redis.xread(
                    {key: self._last_id}, block=max(1, int(min(left, 1) * 1000))
                ),
            )
            for _stream, entries in found or []:
                for entry_id, fields in entries:
                    self._last_id = entry_id.decode()
                    answer = OutgoingMessage.model_validate_json(fields[b"data"])
                    if answer.correlation_id == message_id:
                        return [answer]
        raise ChatTimeout(f"no answer in {timeout:.0f}s: is the assistant running?")


async def run_chat(
    redis_url: str,
    prefix: str,
    topology: dict[str, Any],
    rest_url: str,
    token: str,
    *,
    telegram_id: int,
    name: str,
    language: str | None,
    one_message: str | None,
    timeout: float,
) -> int:
    redis = create_redis(redis_url, **topology)
    async with RestClient(rest_url, token) as rest:  # closed whatever fails below
        session = ChatSession(redis, Names(prefix), rest, telegram_id, name, language)
        try:
            return await _converse(session, one_message, timeout)
        finally:
            try:
                await session.close()
            finally:
                await redis.aclose()


async def _converse(session: ChatSession, one_message: str | None, timeout: float) -> int:
    await session.open()
    if one_message is not None:
        for part in await session.ask(one_message, timeout):
            print(part.text)
        return 0
    print("Chatting with the assistant through the queues. /quit to leave.", file=sys.stderr)
    prompt = "you> " if sys.stdin.isatty() else ""  # lines from a pipe need no prompt
    while True:
        try:
            text = await asyncio.to_thread(input, prompt)
        except EOFError:
            return 0
        if text.strip() in ("/quit", "/exit"):
            return 0
        if text.strip():
            for part in await session.ask(text, timeout):
                print(f"assistant> {part.text}")
