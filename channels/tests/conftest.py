"""The channels tests' rest_service, one real process per module (`module_rest_service`), and
Slack's stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.infrastructure.rest_client import RestClient
from ops.processes import Stack
from sandbox.slack_api import SlackStandIn


@pytest.fixture
async def rest(module_rest_service: Stack, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    url = module_rest_service.processes["rest_service"].url
    async with RestClient(url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    """Slack's Web API and file host, served in the test's loop."""
    stand_in = SlackStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()
