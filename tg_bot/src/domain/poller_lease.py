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
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.redis_lock import RedisLock

log = get_logger(__name__)

Work = Callable[[asyncio.Event], Awaitable[None]]


class PollerLease:
    def __init__(
        self, redis: aioredis.Redis, names: Names, ttl_s: float, bot_id: object = None
    ) -> None:
        """`bot_id`: whose poller (a bots row's id; None the default bot)."""
        key = names.telegram_poller_lease
        if bot_id is not None:
            key = names.telegram_bot_poller_lease(bot_id)
        self._lock = RedisLock(redis, key, int(ttl_s * 1000))
        #: monotonic time the lease was taken; None while another process polls
        self.held_since: float | None = None
        #: Tries to take the lease, and renewals of it while held, so far.
        self.tries = 0
        self.renewals = 0

    @property
    def held(self) -> bool:
        return self.held_since is not None

    @property
    def _renew_every_s(self) -> float:
        return self._lock.ttl_ms / 3000

    async def run_while_held(self, work: Work, stop: asyncio.Event) -> None:
        """Until `stop`: wait for the lease, then run `work(until)` while holding it. `until`
        is set when `stop` is, or when the lease is lost; `work` returns then."""
        while not stop.is_set():
            if await self._acquire():
                await self._hold(work, stop)
            else:
                await _wait(stop, self._renew_every_s)

    async def _acquire(self) -> bool:
        self.tries += 1
        try:
            return await self._lock.acquire()
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
                await self._lock.release()

    async def _keep(self, until: asyncio.Event, stop: asyncio.Event) -> None:
        """Renew the lease; set `until` on `stop` or when the lease turns out lost. While
        Redis is unreachable nobody else can take it either, so polling goes on."""
        while True:
            await _wait(stop, self._renew_every_s)
            if stop.is_set():
                until.set()
                return
            try:
                renewed = await self._lock.extend()
            except aioredis.RedisError as exc:
                log.warning("poller_lease_renewal_failed", error=str(exc))
                continue
            if not renewed:
                log.warning("poller_lease_lost")
                until.set()
                return
            self.renewals += 1


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
