"""The live config's watcher with rest_service away, in-process: loading retries until told
to stop, a poll or a background refresh that fails is logged and the watcher goes on, and a
stored version that is no number reads as none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from assistant.src.live_config.watcher import ConfigNotLoaded, ConfigWatcher
from assistant.tests.support import running_until_stopped
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient


@pytest.fixture
async def watcher(redis: aioredis.Redis, names: Names) -> AsyncIterator[ConfigWatcher]:
    async with RestClient("http://127.0.0.1:9", "unused", retries=0) as away:
        yield ConfigWatcher(away, redis, names, poll_seconds=0.02)


async def test_loading_retries_until_stopped_and_says_it_loaded_nothing(
    watcher: ConfigWatcher,
) -> None:
    with capture_logs() as logs:
        async with running_until_stopped(watcher.load, logs) as logged:
            await logged("config_load_failed", 2)
    assert not watcher.loaded
    with pytest.raises(ConfigNotLoaded):
        _ = watcher.current


async def test_a_failed_poll_or_refresh_is_logged_and_the_watcher_goes_on(
    watcher: ConfigWatcher,
) -> None:
    with capture_logs() as logs:
        async with running_until_stopped(watcher.run, logs) as logged:
            await logged("config_poll_failed", 2)
            watcher.trigger_refresh()
            watcher.trigger_refresh()  # during the first: one more after it, not a second task
            await logged("config_refresh_failed", 1)


@pytest.mark.parametrize(("raw", "version"), [(b"12", 12), ("7", 7), (None, -1), (b"v2", -1)])
def test_the_stored_version_is_a_number_or_none(raw: bytes | str | None, version: int) -> None:
    assert ConfigWatcher.parse_version(raw) == version
