"""The calendar service's tests run against the shared calendar stack (`tests/calendar_stack.py`:
rest_service, the service and the Google stand-in, once per session); their `user` is made on
that rest_service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.infrastructure.rest_client import RestClient
from ops.processes import ServiceProcess


@pytest.fixture
async def rest(rest_process: ServiceProcess, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_process.url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client
