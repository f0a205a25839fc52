"""Keeps the config snapshot current: loaded at start, swapped in atomically when
`config:updated` is heard, and the version polled as the safety net under a lost message.
A message holds the snapshot it started with, so a swap never changes it mid-turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import redis.asyncio as aioredis

from common.infrastructure.errors import AppError
from common.infrastructure.logging import get_logger
from common.infrastructure.pubsub import listen
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.retry import RetryPolicy, Stopped
from common.infrastructure.wire import ConfigSnapshot

log = get_logger(__name__)

#: Loading at start: until stopped, 0.2 s doubling to 5 s between tries, no jitter (one
#: watcher per process: nothing to spread).
_LOADING = RetryPolicy(retries=None, base_s=0.2, max_s=5.0, floor=1.0)

#: How long a message waits for a refresh already under way (one `GET /api/config`).
_SETTLE_TIMEOUT_S = 2.0


class ConfigNotLoaded(RuntimeError):
    """No snapshot yet: rest_service has not answered since the start."""


class ConfigWatcher:
    def __init__(
        self,
        rest: RestClient,
        redis: aioredis.Redis,
        names: Names,
        *,
        poll_seconds: float,
        on_change: Callable[[ConfigSnapshot], None] | None = None,
    ) -> None:
        self._rest = rest
        self._redis = redis
        self._names = names
        self._poll_seconds = poll_seconds
        self._on_change = on_change
        self._snapshot: ConfigSnapshot | None = None
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[ConfigSnapshot] | None = None
        self._again = False

    @property
    def current(self) -> ConfigSnapshot:
        if self._snapshot is None:
            raise ConfigNotLoaded("the config snapshot is not loaded yet")
        return self._snapshot

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    async def load(self, stop: asyncio.Event) -> bool:
        """Retry until rest_service gives a snapshot (True) or `stop` is set (False)."""

        def failed(_attempt: int, delay: float, exc: object) -> None:
            log.warning("config_load_failed", error=str(exc), retry_in_s=delay)

        try:
            await _LOADING.run(
                self.refresh,
                retry_exception=lambda exc: isinstance(exc, AppError | ValueError),
                on_retry=failed,
                stop=stop,
            )
        except Stopped:
            return False
        return True

    async def refresh(self) -> ConfigSnapshot:
        """Fetch the snapshot and swap it in unless we already hold a newer one."""
        async with self._lock:
            fresh = await self._rest.get_config()
            current = self._snapshot
            if current is None or fresh.version >= current.version:
                self._snapshot = fresh
                if current is None or fresh.version != current.version:
                    log.info("config_loaded", version=fresh.version)
                    if self._on_change:
                        self._on_change(fresh)
            return self.current

    async def current_snapshot(self, stored_version: int | None = None) -> ConfigSnapshot:
        """The snapshot for a message starting now. rest_service keeps the version in Redis
        before it answers a config write: one GET here means the message right after a
        change sees it, even before `config:updated` arrives. `stored_version`: that
        version as the caller read it (`version_key`, `parse_version`) with its own checks,
        in the same round trip."""
        stored = await self._stored_version() if stored_version is None else stored_version
        if stored > self.current.version:
            self.trigger_refresh()
        task = self._refreshing
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError, AppError, ValueError):
                await asyncio.wait_for(asyncio.shield(task), _SETTLE_TIMEOUT_S)
        return self.current

    @property
    def version_key(self) -> str:
        """Where rest_service keeps the live config's version."""
        return self._names.config_version

    @staticmethod
    def parse_version(raw: bytes | str | None) -> int:
        """The stored version; -1 when there is none or it is not a number."""
        try:
            return int(raw) if raw is not None else -1
        except ValueError:
            return -1

    async def _stored_version(self) -> int:
        try:
            return self.parse_version(await self._redis.get(self.version_key))
        except aioredis.RedisError:
            return -1

    def trigger_refresh(self) -> None:
        """Refresh in the background; a trigger during a refresh runs one more after it,
        since that refresh may have read the config before the change."""
        if self._refreshing is None or self._refreshing.done():
            self._again = False
            self._refreshing = asyncio.create_task(self._refresh_until_quiet())
            self._refreshing.add_done_callback(_log_failure)
        else:
            self._again = True

    async def _refresh_until_quiet(self) -> ConfigSnapshot:
        snapshot = await self.refresh()
        while self._again:
            self._again = False
            snapshot = await self.refresh()
        return snapshot

    async def run(self, stop: asyncio.Event) -> None:
        """Listen and poll until `stop`."""
        await asyncio.gather(self._listen(stop), self._poll(stop))

    async def _listen(self, stop: asyncio.Event) -> None:
        """Each (re)subscription refreshes: a change published meanwhile was not heard."""
        await listen(
            self._redis,
            self._names.config_updated,
            self._on_config_updated,
            self.trigger_refresh,
            stop,
        )

    def _on_config_updated(self, data: str) -> None:
        log.debug("config_updated_heard", data=data)
        self.trigger_refresh()

    async def _poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
            if stop.is_set():
                return
            try:
                version = await self._rest.get_config_version()
            except AppError as exc:
                log.warning("config_poll_failed", error=str(exc))
                continue
            if self._snapshot is None or version != self._snapshot.version:
                log.info("config_version_changed", version=version)
                self.trigger_refresh()


def _log_failure(task: asyncio.Task[ConfigSnapshot]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("config_refresh_failed", error=str(task.exception()))
