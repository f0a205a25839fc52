"""Reminders made over rest_service for `user`, as the assistant's reminder tool makes them
(loaded by the root conftest.py; cron_service fires them, tg_bot lists them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, TelegramUser

MakeReminder = Callable[..., Any]


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0) + timedelta(seconds=1)


@pytest.fixture
def make_reminder(rest: RestClient, user: TelegramUser) -> MakeReminder:
    """`await make_reminder(text, due_in=3)` or with any cron job field (`run_at`, ...)."""

    async def make(text: str, due_in: float | None = None, **fields: Any) -> CronJob:
        if due_in is not None:
            fields["run_at"] = whole_second(datetime.now(UTC) + timedelta(seconds=due_in))
        return await rest.create_cron_job(
            name=text, chat_id=user.telegram_id, user_id=user.id, text=text, **fields
        )

    return make
