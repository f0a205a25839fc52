"""Fixtures of the assistant's tests: the sandbox stand-ins on free ports, in threads of
their own (so a test may block, as `stack.start` does, without stalling them)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from assistant.src.settings import Settings
from assistant.src.tools.base import ToolServices
from assistant.tests.support import STDIO_SERVERS, Deployment, Platform
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from ops.processes import Stack
from sandbox.llm_server import LlmStandIn
from sandbox.open_meteo import OpenMeteoStandIn
from tests.harness import REST_LOOPS_OFF

#: The default bot's operator group in the platform's rest_service.
OPERATOR_CHAT_ID = -100_900_800


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


@pytest.fixture
def open_meteo() -> Iterator[OpenMeteoStandIn]:
    with OpenMeteoStandIn() as server:
        yield server


@pytest.fixture
def settings(
    llm: LlmStandIn, open_meteo: OpenMeteoStandIn, redis_url: str, key_prefix: str
) -> Settings:
    """Settings for in-process pieces: stand-ins, fast retries."""
    return Settings(
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=key_prefix,
        openai_base_url=llm.base_url,
        default_model="sandbox-default",
        fallback_model="sandbox-fallback",
        geocoding_api_url=open_meteo.geocoding_url,
        weather_api_url=open_meteo.forecast_url,
        llm_retry_base_seconds=0.01,
        llm_retry_max_seconds=2.0,
        llm_timeout_seconds=2.0,
    )


@pytest.fixture
async def services(settings: Settings, redis, names) -> AsyncIterator[ToolServices]:
    """What tools use; rest_service is not running for the in-process tool tests."""
    async with (
        RestClient("http://127.0.0.1:9", "unused", retries=0) as rest,
        client_session() as http,
    ):
        yield ToolServices(settings, redis, names, rest, http)


@pytest.fixture(scope="session")
def platform(
    database_url: str,
    redis_url: str,
    secrets: dict[str, str],
    session_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """rest_service with the tests' config and the stand-ins, shared by every end-to-end
    test here (starting processes is most of their time); the assistant starts on first
    use, and a test that stops it leaves the next to start it again."""
    prefix = f"{session_prefix}{uuid.uuid4().hex[:6]}:"
    env = {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        #: The stdio MCP servers an mcp tool may name (test_mcp_config.py); none is started.
        "MCP_STDIO_SERVERS": json.dumps(STDIO_SERVERS),
        #: The default bot's operator group (test_handoff_tool.py).
        "OPERATOR_CHAT_ID": str(OPERATOR_CHAT_ID),
        #: It outlives the file that starts it (tests/shared_services.py).
        **REST_LOOPS_OFF,
        **secrets,
    }
    llm = LlmStandIn().start_in_thread()
    open_meteo = OpenMeteoStandIn().start_in_thread()
    stack = Stack(env, tmp_path_factory.mktemp("assistant-platform"))
    try:
        stack.start("rest_service")
        platform = Platform(stack, llm, open_meteo, Names(prefix), secrets)
        platform.import_config()
        yield platform
    finally:
        stack.stop_all()
        llm.stop_thread()
        open_meteo.stop_thread()


@pytest.fixture
async def rest(platform: Platform) -> AsyncIterator[RestClient]:
    """The platform's rest_service as a service sees it, for a tool that writes there."""
    async with RestClient(platform.rest_url, platform.secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def deployment(platform: Platform, redis: aioredis.Redis) -> AsyncIterator[Deployment]:
    """The platform, with the stand-ins' scripts and records fresh for this test."""
    platform.llm.reset()
    platform.llm.default_delay = 0.0
    platform.open_meteo.hits.clear()
    platform.open_meteo.delay = 0.0
    # A model's circuit breaker opened by an earlier test's failures is not this test's.
    breakers = [
        k async for k in redis.scan_iter(match=platform.names.llm_breaker("*", "*"), count=1000)
    ]
    if breakers:
        await redis.delete(*breakers)
    headers = platform.secrets
    async with (
        RestClient(platform.rest_url, headers["ADMIN_API_TOKEN"]) as admin,
        RestClient(platform.rest_url, headers["SERVICE_API_TOKEN"]) as rest,
    ):
        await platform.put_back_its_config(rest)
        deployment = Deployment(platform, admin, rest, redis)
        try:
            yield deployment
        finally:
            for name in deployment.started:
                await asyncio.to_thread(platform.stack.processes[name].stop)
