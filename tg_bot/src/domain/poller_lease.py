"""One getUpdates poller per bot, however many tg_bot processes run.

Telegram answers a second long poll on the same token with 409 Conflict and cuts the first
one short, so two pollers would keep interrupting each other. The poller holds a lease in
Redis (a key with its token and a TTL, renewed by a heartbeat); the other processes only
send answers and take over when the lease lapses (its holder stopped or died). Correctness
does not rest on the lease: the offset commit refuses a batch another poller has already
queued, so a brief overlap (a stalled holder) queues nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from common.logging import get_logger
from common.names import Names

log = get_logger(__name__)

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Work = Callable[[asyncio.Event], Awaitable[None]]


class PollerLease:
    def __init__(self, redis: aioredis.Redis, names: Names, ttl_s: float) -> None:
        self._redis = redis
        self._key = names.telegram_poller_lease
        self._ttl_ms = max(int(ttl_s * 1000), 1)
        self._token = uuid.uuid4().hex
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)
        #: monotonic time the lease was taken; None while another process polls
        self.held_since: float | None = None

    @property
    def held(self) -> bool:
        return self.held_since is not None

    @property
    def _renew_every_s(self) -> float:
        return self._ttl_ms / 3000

    async def run_while_held(self, work: Work, stop: asyncio.Event) -> None:
        """Until `stop`: wait for the lease, then run `work(until)` while holding it. `until`
        is set when `stop` is, or when the lease is lost; `work` returns then."""
        while not stop.is_set():
            if await self._acquire():
                await self._hold(work, stop)
            else:
                await _wait(stop, self._renew_every_s)

    async def _acquire(self) -> bool:
        try:
            return bool(await self._redis.set(self._key, self._token, nx=True, px=self._ttl_ms))
        except aioredis.RedisError as exc:
            log.warning("poller_lease_unavailable", error=str(exc))
            return False

    async def _hold(self, work: Work, stop: asyncio.Event) -> None:
        until = asyncio.Event()
        self.held_since = time.monotonic()
        log.info("poller_lease_acquired")
        keeper = asyncio.create_task(self._keep(until, stop))
        try:
            await work(until)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            self.held_since = None
            with contextlib.suppress(aioredis.RedisError):
                await self._release(keys=[self._key], args=[self._token])

    async def _keep(self, until: asyncio.Event, stop: asyncio.Event) -> None:
        """Renew the lease; set `until` on `stop` or when the lease turns out lost. While
        Redis is unreachable nobody else can take it either, so polling goes on."""
        while True:
            await _wait(stop, self._renew_every_s)
            if stop.is_set():
                until.set()
                return
            try:
                renewed = await self._extend(keys=[self._key], args=[self._token, self._ttl_ms])
            except aioredis.RedisError as exc:
                log.warning("poller_lease_renewal_failed", error=str(exc))
                continue
            if not renewed:
                log.warning("poller_lease_lost")
                until.set()
                return


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
