"""rest_service's `next_run_at` is the fire cron_service plans: one evaluator
(`common.features.schedule`), so neither corrects the other, across daylight-saving changes too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from cron_service.app.jobs import plan

#: (expression, zone, last run): the day before or the day of a change, both hemispheres.
CASES = [
    ("30 2 * * *", "America/New_York", datetime(2027, 3, 13, 7, 30, tzinfo=UTC)),
    ("30 1 * * *", "America/New_York", datetime(2027, 11, 7, 5, 30, tzinfo=UTC)),
    ("0 * * * *", "America/New_York", datetime(2027, 11, 7, 5, 0, tzinfo=UTC)),
    ("15 2 * * 0", "Europe/Berlin", datetime(2027, 3, 21, 1, 15, tzinfo=UTC)),
    ("30 2 * * *", "Europe/Berlin", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    ("0 2 * * *", "Australia/Sydney", datetime(2027, 10, 2, 16, 0, tzinfo=UTC)),
    ("30 2 * * *", "Australia/Sydney", datetime(2027, 4, 3, 15, 30, tzinfo=UTC)),
    ("0 2 * * 1-5", "Australia/Lord_Howe", datetime(2027, 10, 1, 15, 0, tzinfo=UTC)),
    ("45 2 * * *", "Pacific/Chatham", datetime(2027, 9, 25, 14, 0, tzinfo=UTC)),
    ("0 9 * * *", "Asia/Kolkata", datetime(2027, 3, 13, 3, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("expression", "zone", "last"), CASES)
async def test_rest_service_next_run_is_the_fire_cron_service_plans(
    rest: RestClient, user: TelegramUser, expression: str, zone: str, last: datetime
) -> None:
    made = await rest.create_cron_job(
        name="n",
        chat_id=user.telegram_id,
        user_id=user.id,
        text="t",
        cron_expression=expression,
        timezone=zone,
    )
    job = await rest.update_cron_job(made.id, last_run_at=last)
    stored = job.next_run_at

    planned = plan(job, "UTC")
    assert stored == planned.following(last)
    assert stored == planned.next_fire(last + timedelta(seconds=1))
