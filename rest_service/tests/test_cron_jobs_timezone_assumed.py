"""`timezone_assumed` on cron jobs: set when a user with no zone gets a job in the default
zone, cleared when the job's zone is changed, so setting a zone can offer to move them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rest_service.tests.conftest import Api


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_a_job_of_a_user_without_a_zone_is_assumed(api: Api) -> None:
    user = await api.user()
    by_default = await api.job(user_id=user["id"])
    named_default = await api.job(user_id=user["id"], timezone="UTC")
    assert by_default["timezone_assumed"] and named_default["timezone_assumed"]


async def test_a_chosen_zone_is_not_assumed(api: Api) -> None:
    user = await api.user()
    other_zone = await api.job(user_id=user["id"], timezone="Asia/Tokyo")
    zoned = await api.user(timezone="Europe/Berlin")
    users_own = await api.job(user_id=zoned["id"])
    no_user = await api.job()
    said_so = await api.job(user_id=user["id"], timezone_assumed=False)
    for job in (other_zone, users_own, no_user, said_so):
        assert job["timezone_assumed"] is False, job


async def test_changing_the_zone_clears_assumed_and_moves_the_next_run(api: Api) -> None:
    user = await api.user()
    job = await api.job(user_id=user["id"], cron_expression="30 9 * * *")
    moved = await api.ok(
        "PUT", f"/api/cron-jobs/{job['id']}", api.service, json={"timezone": "Asia/Tokyo"}
    )
    assert moved["timezone_assumed"] is False
    local = datetime.fromisoformat(moved["next_run_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (9, 30)
    renamed = await api.job(user_id=user["id"], run_at=in_hours(3), cron_expression=None)
    kept = await api.ok(
        "PUT", f"/api/cron-jobs/{renamed['id']}", api.service, json={"text": "other"}
    )
    assert kept["timezone_assumed"] is True
