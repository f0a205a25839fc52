"""The test user every service's tests make: a Telegram user of the test's own, in Berlin
(a zone other than UTC, so a time read in the wrong zone shows). Loaded by the root
conftest.py; `user` needs a `rest` fixture, which each folder's conftest gives for the
rest_service its tests run against."""

from __future__ import annotations

import random

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser


async def make_user(
    rest: RestClient, timezone: str = "Europe/Berlin", language: str | None = None
) -> TelegramUser:
    """A new user; no language unless given, so the Telegram app's language applies."""
    made, _ = await rest.get_or_create_user(
        random.randint(10**8, 10**10), first_name="Ann", language=language
    )
    return TelegramUser.model_validate(await rest.update_user(made.id, timezone=timezone))


@pytest.fixture
async def user(rest: RestClient) -> TelegramUser:
    return await make_user(rest)
