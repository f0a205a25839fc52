"""Webhook mode (`TELEGRAM_WEBHOOK_URL` set): Telegram POSTs each update to tg_bot's HTTP
server, and any replica behind a load balancer can take it, so no poller lease is needed.

Every request must carry the secret in `X-Telegram-Bot-Api-Secret-Token` (compared in
constant time; missing or wrong: 401, nothing queued, and at most one log line a minute
counting the refusals since the last, so a flood of forged requests is no flood of lines).
The secret is the configured one, or one made once and kept in Redis, so every replica sets
and checks the same.

An update goes through the polling path's `UpdateQueue` (route, then one Redis call that
queues messages, replies and typing marks), guarded by a "seen" key per update_id instead
of an offset. The answer is 200 only after that call: if Redis or rest_service is down the
answer is 503 and Telegram delivers the update again later, so nothing is lost (a sender
whose update a full Redis has refused for a few seconds hears so once, as in polling). A body that
is not an update at all is answered 200 with a log line: it will never become one, and
Telegram would send it again forever. A body over `MAX_BODY_BYTES` is a 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from aiohttp import web
from pydantic import ValidationError

from common.features.blobs import is_out_of_memory
from common.infrastructure.errors import DependencyUnavailableError
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from tg_bot.src.clients.types import TgUpdate
from tg_bot.src.metrics import UPDATES
from tg_bot.src.workers.receiver import FullNotice, Route, UpdateQueue

log = get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Far above any update Telegram sends (a 4 096-character message with its reply is ~50 kB).
MAX_BODY_BYTES = 1024 * 1024
#: update_ids are positive and fit Redis' and Lua's numbers.
_MAX_UPDATE_ID = 2**53
#: Refused requests write at most one line per this many seconds.
REFUSAL_LOG_INTERVAL_S = 60.0


class RefusalLog:
    """`webhook_secret_refused` at most once per `interval_s`, with `refused`: how many
    requests were refused since the previous line (this one included)."""

    def __init__(
        self,
        interval_s: float = REFUSAL_LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last: float | None = None
        self._unlogged = 0

    def refused(self, present: bool, peer: str | None) -> int:
        """Counts one refusal; the count on the line it wrote, or 0 when none was due."""
        self._unlogged += 1
        now = self._clock()
        if self._last is not None and now - self._last < self._interval_s:
            return 0
        count, self._last, self._unlogged = self._unlogged, now, 0
        log.warning("webhook_secret_refused", refused=count, present=present, peer=peer)
        return count


class WebhookReceiver:
    """The handler of webhook requests; refuses them (503) until `open` (before getMe there
    is no bot id to dedupe by, and no secret to check)."""

    def __init__(self, queue: UpdateQueue, full_notice: FullNotice) -> None:
        self._queue = queue
        self._full_notice = full_notice
        self._open: tuple[int, bytes, Route] | None = None
        self._closed = False
        #: requests being handled; `close` waits for them before the clients they use close
        self._in_flight: set[asyncio.Task[web.Response]] = set()
        self._refusals = RefusalLog()
        #: monotonic time of the first failed commit since the last good one
        self.failing_since: float | None = None
        self.last_error = ""

    def open(self, bot_id: int, secret: str, route: Route) -> None:
        self._open = (bot_id, secret.encode(), route)

    async def close(self, grace_s: float) -> None:
        """Refuse new requests (503: Telegram delivers them to another replica or later) and
        wait up to `grace_s` for those being handled; the ones still going then are cut
        short and answered 503 too, so none meets a closed client (which would fail it as a
        bug and mark the update seen, unanswered)."""
        self._closed = True
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_s)
        for left in list(self._in_flight):
            left.cancel()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def handle(self, request: web.Request) -> web.Response:
        if self._closed:
            return _stopping()
        if self._open is None:
            return web.Response(status=503, text="not receiving yet", headers={"Retry-After": "1"})
        handling = asyncio.create_task(self._handle(request, *self._open))
        self._in_flight.add(handling)
        try:
            return await asyncio.shield(handling)
        except asyncio.CancelledError:
            if not handling.cancelled():
                handling.cancel()
                raise  # this request's own cancellation (the server stopping under it)
            return _stopping()  # cut short by `close`
        finally:
            self._in_flight.discard(handling)

    async def _handle(
        self, request: web.Request, bot_id: int, secret: bytes, route: Route
    ) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, secret):
            UPDATES.labels("webhook_refused").inc()
            self._refusals.refused(present=bool(given), peer=request.remote)
            return web.Response(status=401, text="wrong secret token")
        body = await _read(request, MAX_BODY_BYTES)
        if body is None:
            log.warning("webhook_body_too_large", length=request.content_length)
            return web.Response(status=413, text="body too large")
        update = parse_update(body)
        if update is None:
            UPDATES.labels("webhook_not_an_update").inc()
            log.warning("webhook_body_not_an_update", size=len(body))
            return web.Response(status=200, text="not an update; ignored")
        return await self._receive(bot_id, update, route)

    async def _receive(self, bot_id: int, update: TgUpdate, route: Route) -> web.Response:
        try:
            if await self._queue.seen(bot_id, update.update_id):
                log.info("webhook_update_redelivered", update_id=update.update_id)
                return web.Response(status=200, text="already queued")
            guard = self._queue.by_update_id(bot_id, update.update_id)
            if await self._queue.receive([update], route, guard) == 0:
                log.info("webhook_update_redelivered", update_id=update.update_id)
        except (DependencyUnavailableError, aioredis.RedisError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            log.warning("webhook_update_not_queued", update_id=update.update_id, error=str(exc))
            if isinstance(exc, aioredis.ResponseError) and is_out_of_memory(exc):
                await self._full_notice.refused([update])
            return web.Response(status=503, text="try again", headers={"Retry-After": "1"})
        except Exception as exc:  # a bug: Telegram delivers the update again later
            self._failed(f"{type(exc).__name__}: {exc}")
            log.exception("webhook_update_failed", update_id=update.update_id)
            return web.Response(status=500, text="internal error")
        self._full_notice.queued([update])
        self.failing_since = None
        return web.Response(status=200, text="ok")

    def _failed(self, error: str) -> None:
        self.failing_since = self.failing_since or time.monotonic()
        self.last_error = error[:300]


def _stopping() -> web.Response:
    return web.Response(status=503, text="stopping", headers={"Retry-After": "1"})


def parse_update(body: bytes) -> TgUpdate | None:
    """The update in a webhook body; None when it is not one. An update the bot cannot read
    (a known field of an unexpected shape) becomes a bare update, ignored but marked seen,
    as a polled one is."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested beyond reason
        return None
    if not isinstance(raw, dict):
        return None
    update_id = raw.get("update_id")
    if type(update_id) is not int or not 0 <= update_id < _MAX_UPDATE_ID:
        return None
    try:
        return TgUpdate.model_validate(raw)
    except (ValidationError, RecursionError) as exc:
        log.warning("update_unreadable", update_id=update_id, error=str(exc)[:500])
        return TgUpdate(update_id=update_id)


async def webhook_secret(
    redis: aioredis.Redis, names: Names, bot_id: int, configured: str, stop: asyncio.Event
) -> str | None:
    """The configured secret, or the bot's generated one (made by whichever replica asks
    first, kept in Redis for all); None if stopped while Redis is down."""
    if configured:
        return configured
    key = names.telegram_webhook_secret(bot_id)
    while not stop.is_set():
        try:
            await redis.set(key, secrets.token_urlsafe(48), nx=True)
            found = await redis.get(key)
            if found is not None:
                return found.decode() if isinstance(found, bytes) else str(found)
        except aioredis.RedisError as exc:
            log.warning("webhook_secret_unavailable", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    return None


async def _read(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (read no further than that)."""
    if (request.content_length or 0) > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
