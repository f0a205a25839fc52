"""The test user every service's tests make: a Telegram user of the test's own, in Berlin
(a zone other than UTC, so a time read in the wrong zone shows). Loaded by the root
conftest.py; `user` needs a `rest` fixture, which each folder's conftest gives for the
rest_service its tests run against."""

from __future__ import annotations

import secrets

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser


def new_telegram_id() -> int:
    """A Telegram id of the test's own. Not from `random`: Hypothesis seeds it the same for
    every example, so users made inside `@given` tests would all be one user."""
    return 10**8 + secrets.randbelow(9 * 10**9)


async def make_user(
    rest: RestClient, timezone: str = "Europe/Berlin", language: str | None = None
) -> TelegramUser:
    """A new user; no language unless given, so the Telegram app's language applies."""
    made, _ = await rest.get_or_create_user(new_telegram_id(), first_name="Ann", language=language)
    return TelegramUser.model_validate(await rest.update_user(made.id, timezone=timezone))


@pytest.fixture
async def user(rest: RestClient) -> TelegramUser:
    return await make_user(rest)
