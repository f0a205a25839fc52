"""Urgent reminders in /api/cron-jobs: their repeat settings (defaults and bounds), the
repeats cron_service records, and Done (`/done`), which acknowledges a fire once, counts the
repeats it needed and ends a one-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from rest_service.tests.conftest import Api, assert_error
from rest_service.tests.test_admin import login
from rest_service.tests.test_cron_jobs import MISSING, in_hours


def acknowledged(repeats: int) -> float:
    value = REGISTRY.get_sample_value(
        "smart_assistant_urgent_reminders_acknowledged_total", {"repeats": str(repeats)}
    )
    return value or 0.0


async def test_an_urgent_job_repeats_every_five_minutes_six_times_unless_told(api: Api) -> None:
    job = await api.job(urgent=True)
    assert (job["urgent"], job["repeat_every_minutes"], job["max_repeats"]) == (True, 5, 6)
    assert (job["repeats_sent"], job["repeating_for"], job["acknowledged_for"]) == (0, None, None)
    told = await api.job(urgent=True, repeat_every_minutes=10, max_repeats=3)
    assert (told["repeat_every_minutes"], told["max_repeats"]) == (10, 3)
    assert (await api.job())["urgent"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"repeat_every_minutes": 0},
        {"repeat_every_minutes": 1441},
        {"max_repeats": 0},
        {"max_repeats": 51},
    ],
)
async def test_repeats_out_of_bounds_are_refused(api: Api, client, fields: dict[str, int]) -> None:
    body = {"name": "n", "chat_id": 1, "text": "t", "run_at": in_hours(1), "urgent": True}
    response = await client.post("/api/cron-jobs/", json=body | fields, headers=api.service)
    assert [f["field"] for f in assert_error(response, 422)["fields"]] == list(fields)


async def test_done_acknowledges_a_fire_once_and_counts_its_repeats(api: Api) -> None:
    job = await api.job(urgent=True, cron_expression="0 9 * * *")
    path = f"/api/cron-jobs/{job['id']}"
    fired = datetime(2026, 11, 27, 9, tzinfo=UTC)
    await api.ok(
        "PUT", path, api.service, json={"repeating_for": fired.isoformat(), "repeats_sent": 2}
    )
    before = acknowledged(2)
    done = await api.ok("POST", f"{path}/done", api.service, json={"occurrence": fired.isoformat()})
    assert datetime.fromisoformat(done["acknowledged_for"]) == fired
    assert done["status"] == "active", "a recurring reminder goes on"
    again = await api.ok(
        "POST", f"{path}/done", api.service, json={"occurrence": fired.isoformat()}
    )
    assert again["acknowledged_for"] == done["acknowledged_for"]
    assert acknowledged(2) == before + 1, "pressed twice, counted once"
    earlier, none_before = fired - timedelta(days=1), acknowledged(0)
    await api.ok("POST", f"{path}/done", api.service, json={"occurrence": earlier.isoformat()})
    assert acknowledged(0) == none_before, "an older fire's Done changes nothing"
    assert (await api.ok("GET", path, api.service))["acknowledged_for"] == done["acknowledged_for"]


async def test_done_ends_a_one_off_urgent_or_not(api: Api) -> None:
    for urgent in (True, False):
        job = await api.job(urgent=urgent, cron_expression=None, run_at=in_hours(1))
        done = await api.ok("POST", f"/api/cron-jobs/{job['id']}/done", api.service, json={})
        assert (done["status"], done["next_run_at"], done["acknowledged_for"]) == (
            "done",
            None,
            None,
        )


async def test_done_on_a_missing_job_is_404(client, service) -> None:
    response = await client.post(f"/api/cron-jobs/{MISSING}/done", json={}, headers=service)
    assert_error(response, 404)


async def urgent_fire_with_two_repeats_acknowledged(api: Api, fired: datetime) -> None:
    """An urgent reminder's fire, its two repeats recorded as runs, and Done under the
    second."""
    job = await api.job(urgent=True, repeat_every_minutes=5)
    path = f"/api/cron-jobs/{job['id']}"
    for repeat in range(3):
        run = {"scheduled_for": (fired + repeat * timedelta(minutes=5)).isoformat()}
        body = run | {"outcome": "on_time", "repeat": repeat}
        assert (await api.ok("POST", f"{path}/runs", api.service, json=body))["repeat"] == repeat
    state = {"repeating_for": fired.isoformat(), "repeats_sent": 2}
    await api.ok("PUT", path, api.service, json=state)
    await api.ok("POST", f"{path}/done", api.service, json={"occurrence": fired.isoformat()})


async def test_the_analytics_count_repeats_apart_and_what_done_needed(api: Api) -> None:
    await urgent_fire_with_two_repeats_acknowledged(api, datetime(2099, 1, 1, 9, tzinfo=UTC))
    reminders = (await api.ok("GET", "/api/stats", api.admin, params={"days": 7}))["reminders"]
    assert reminders["on_time"] == 1, "the repeats are not fires of their own"
    assert (
        reminders["urgent_repeats"],
        reminders["urgent_acknowledged"],
        reminders["urgent_repeats_needed"],
    ) == (2, 1, 2)


async def test_the_dashboard_and_the_analytics_page_say_what_urgent_reminders_needed(
    api: Api, client, secrets: dict[str, str]
) -> None:
    fired = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=11)
    await urgent_fire_with_two_repeats_acknowledged(api, fired)
    await login(client, secrets["ADMIN_API_TOKEN"])
    said = "urgent reminders: 1 acknowledged / 2 repeats needed (2 repeats sent)"
    assert said in (await client.get("/admin/dashboard/panel")).text
    assert said in (await client.get("/admin/analytics")).text
