"""A service's Redis client rides out a lost connection as REDIS_RETRIES and
REDIS_RETRY_CAP_SECONDS say: that many tries more, then the command fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError

from common.infrastructure import redis_connection
from common.infrastructure.redis_connection import create_redis_for
from common.infrastructure.settings import ServiceSettings
from tests.environment_text import CHARACTERS


@asynccontextmanager
async def hanging_up() -> AsyncIterator[tuple[int, list[int]]]:
    """A server that closes every connection it accepts: its port and the count so far."""
    accepted: list[int] = []

    async def close(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], accepted


@pytest.mark.parametrize("retries", [0, 1, 3])
async def test_a_command_to_a_redis_that_hangs_up_is_tried_once_more_per_retry(
    retries: int,
) -> None:
    async with hanging_up() as (port, accepted):
        settings = ServiceSettings(
            _env_file=None,
            environment="test",
            redis_url=f"redis://127.0.0.1:{port}/0",
            redis_retries=retries,
            redis_retry_cap_seconds=0.01,
        )
        client = create_redis_for(settings)
        try:
            with pytest.raises(RedisConnectionError):
                await client.ping()
        finally:
            await client.aclose()
    # Each try reconnects, and redis-py retries the failed connect itself under the same policy.
    assert len(accepted) == (retries + 1) ** 2


def test_the_defaults_ride_out_about_three_seconds() -> None:
    settings = ServiceSettings(_env_file=None, environment="test")
    assert (settings.redis_retries, settings.redis_retry_cap_seconds) == (
        redis_connection.RETRIES,
        redis_connection.RETRY_CAP_S,
    )
    waits = [min(redis_connection.RETRY_CAP_S, 0.05 * 2 ** (n + 1)) for n in range(5)]
    assert sum(waits) == pytest.approx(3.1)


@pytest.mark.parametrize(
    ("field", "value"), [("redis_retries", -1), ("redis_retry_cap_seconds", 0)]
)
def test_a_retry_setting_out_of_range_is_refused_naming_it(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        ServiceSettings(_env_file=None, environment="test", **{field: value})


@given(
    name=st.sampled_from(["REDIS_RETRIES", "REDIS_RETRY_CAP_SECONDS"]),
    raw=st.one_of(
        # what an environment variable can hold (a random-order run drew a NUL)
        st.text(CHARACTERS, max_size=12),
        st.integers(-5, 200).map(str),
        st.floats().map(str),
    ),
)
@settings(max_examples=60)
def test_any_value_in_the_environment_is_taken_in_range_or_refused_naming_it(
    name: str, raw: str
) -> None:
    """What an operator may write in .env: a number in range is taken, anything else is one
    error that names the setting, never a client with a negative or endless policy."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(name, raw)
        try:
            settings = ServiceSettings(_env_file=None, environment="test")
        except ValueError as exc:
            assert name.lower() in str(exc)
            return
    assert 0 <= settings.redis_retries <= 100
    assert 0 < settings.redis_retry_cap_seconds <= 60
