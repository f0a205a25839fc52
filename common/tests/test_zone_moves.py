"""Moving a one-off reminder to another zone keeps its wall-clock time, by the schedule's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from common.features.zone_moves import move_reminders, same_clock_time
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob
from common.tests.test_rest_client import ScriptedServer, server

__all__ = ["server"]  # the scripted rest_service, a fixture


def _job(run_at: str | None, zone: str) -> CronJob:
    return CronJob.model_validate(
        {
            "id": uuid.uuid4(),
            "name": "j",
            "type": "reminder",
            "user_id": None,
            "chat_id": 1,
            "text": "j",
            "prompt": None,
            "run_at": run_at,
            "cron_expression": None if run_at else "0 9 * * *",
            "timezone": zone,
            "timezone_assumed": True,
            "status": "active",
            "last_run_at": None,
            "next_run_at": None,
            "idempotency_key": None,
            "created_at": "2025-01-01T00:00:00+00:00",
            "updated_at": "2025-01-01T00:00:00+00:00",
        }
    )


def _one_off(run_at: str, zone: str) -> CronJob:
    return _job(run_at, zone)


def test_a_one_off_keeps_its_clock_time_in_the_new_zone() -> None:
    job = _one_off("2025-06-10T09:00:00+00:00", "UTC")
    assert same_clock_time(job, "Asia/Tokyo") == datetime(2025, 6, 10, 0, 0, tzinfo=UTC)


def test_a_time_the_spring_change_skips_moves_to_the_end_of_the_gap() -> None:
    # 02:30 does not exist in New York on 2025-03-09: like a schedule, it becomes 03:00 EDT.
    job = _one_off("2025-03-09T02:30:00+00:00", "UTC")
    assert same_clock_time(job, "America/New_York") == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)


def test_a_repeated_autumn_time_moves_to_its_first_occurrence() -> None:
    job = _one_off("2025-11-02T01:30:00+00:00", "UTC")
    assert same_clock_time(job, "America/New_York") == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)


def test_a_recurring_job_has_no_instant_to_move() -> None:
    assert same_clock_time(_job(None, "UTC"), "Asia/Tokyo") is None


async def test_a_move_skips_what_has_passed_and_what_rest_service_refuses(
    server: tuple[ScriptedServer, str],
) -> None:
    """Three assumed-UTC reminders moved to Tokyo (9 hours ahead): one whose 09:00-in-Tokyo has
    already passed is left as it was without asking rest_service; one rest_service refuses
    (it fired or was cancelled meanwhile) is left too; the third is moved."""
    scripted, url = server
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    later = soon + timedelta(days=2)
    passed = _one_off(soon.isoformat(), "UTC")  # in Tokyo at that clock time: 7 hours ago
    refused = _one_off(later.isoformat(), "UTC")
    moved = _one_off((later + timedelta(hours=1)).isoformat(), "UTC")
    answer = moved.model_dump(mode="json") | {"timezone": "Asia/Tokyo", "timezone_assumed": False}
    scripted.replies = [
        (409, {"error": "conflict", "detail": "the job is not active", "fields": []}),
        (200, answer),
    ]
    async with RestClient(url, "tok") as rest:
        report = await move_reminders(rest, [passed, refused, moved], "Asia/Tokyo")
    assert [job.id for job in report.passed] == [passed.id, refused.id]
    assert [(job.id, job.timezone) for job in report.moved] == [(moved.id, "Asia/Tokyo")]
    asked = [request.path for request in scripted.seen]
    assert asked == [f"/api/cron-jobs/{refused.id}", f"/api/cron-jobs/{moved.id}"]
