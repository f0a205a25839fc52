"""Per-user limits on cron jobs (one turn once made 20 reminders firing every
minute): MAX_ACTIVE_REMINDERS is a 409 naming `user_id`, MIN_RECURRENCE_MINUTES a 422 naming
`cron_expression`, on create and on update, whichever path writes the job."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.schedule import CronSchedule
from common.infrastructure.errors import ValidationFailedError
from rest_service.app.domain.validation import check_recurrence
from rest_service.tests.conftest import Api, assert_error

LIMIT = 3


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    return {**service_env, "MAX_ACTIVE_REMINDERS": str(LIMIT), "MIN_RECURRENCE_MINUTES": "5"}


async def create(client: httpx.AsyncClient, api: Api, **fields: object) -> httpx.Response:
    body = {"name": "n", "chat_id": 42, "text": "drink water", "cron_expression": "0 9 * * *"}
    return await client.post("/api/cron-jobs/", json={**body, **fields}, headers=api.service)


class TestShortestRecurrence:
    @pytest.mark.parametrize("expression", ["* * * * *", "*/2 * * * *", "0,3 9 * * *"])
    async def test_a_job_firing_more_often_than_the_minimum_is_422(
        self, api: Api, client: httpx.AsyncClient, expression: str
    ) -> None:
        user = await api.user()
        body = assert_error(
            await create(client, api, user_id=user["id"], cron_expression=expression),
            422,
            "validation_error",
        )
        assert body["fields"][0]["field"] == "cron_expression"
        assert "at most every 5 minutes" in body["fields"][0]["reason"]

    async def test_every_five_minutes_is_allowed(self, api: Api, client) -> None:
        response = await create(client, api, cron_expression="*/5 * * * *")
        assert response.status_code == 201, response.text

    async def test_an_update_to_every_minute_is_422(self, api: Api, client) -> None:
        job = await api.job()
        response = await client.put(
            f"/api/cron-jobs/{job['id']}", json={"cron_expression": "* * * * *"}, headers=api.admin
        )
        assert_error(response, 422, "validation_error")


class TestActiveReminders:
    async def test_one_more_active_job_than_allowed_is_409(self, api: Api, client) -> None:
        user = await api.user()
        for _ in range(LIMIT):
            assert (await create(client, api, user_id=user["id"])).status_code == 201
        body = assert_error(await create(client, api, user_id=user["id"]), 409, "conflict")
        assert body["fields"][0]["field"] == "user_id"
        assert f"most allowed is {LIMIT}" in body["detail"]
        other = await api.user()
        assert (await create(client, api, user_id=other["id"])).status_code == 201

    @pytest.mark.commits
    async def test_concurrent_creates_stop_at_the_limit(self, api: Api, client) -> None:
        user = await api.user()
        responses = await asyncio.gather(
            *(create(client, api, user_id=user["id"]) for _ in range(LIMIT + 5))
        )
        assert sorted(r.status_code for r in responses) == [201] * LIMIT + [409] * 5

    async def test_resuming_a_paused_job_past_the_limit_is_409(self, api: Api, client) -> None:
        user = await api.user()
        paused = await api.job(user_id=user["id"], status="paused")
        for _ in range(LIMIT):
            await api.job(user_id=user["id"])
        response = await client.put(
            f"/api/cron-jobs/{paused['id']}", json={"status": "active"}, headers=api.service
        )
        assert_error(response, 409, "conflict")

    async def test_a_finished_job_frees_its_place(self, api: Api, client) -> None:
        user = await api.user()
        jobs = [await api.job(user_id=user["id"]) for _ in range(LIMIT)]
        await client.put(
            f"/api/cron-jobs/{jobs[0]['id']}", json={"status": "paused"}, headers=api.service
        )
        assert (await create(client, api, user_id=user["id"])).status_code == 201


def reference_gap(expression: str) -> float:
    """Minute by minute over two UTC days: the smallest gap between two fires."""
    schedule = CronSchedule.parse(expression)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    fires = [
        t
        for t in (start + timedelta(minutes=i) for i in range(2 * 24 * 60))
        if schedule.matches_wall(t.replace(tzinfo=None))
    ]
    return min((b - a).total_seconds() / 60 for a, b in itertools.pairwise(fires))


minute_lists = st.lists(st.integers(0, 59), min_size=1, max_size=6, unique=True)
hour_fields = st.sampled_from(["*", "9", "9,10", "*/2", "0-3"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minutes=minute_lists, hours=hour_fields)
def test_the_gap_rule_matches_a_minute_by_minute_reference(minutes: list[int], hours: str) -> None:
    expression = f"{','.join(map(str, sorted(minutes)))} {hours} * * *"
    after = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        check_recurrence(expression, "UTC", 5, after)
        refused = False
    except ValidationFailedError:
        refused = True
    assert refused == (reference_gap(expression) < 5)


def test_a_minimum_of_zero_allows_a_job_every_minute() -> None:
    check_recurrence("* * * * *", "UTC", 0, datetime(2026, 1, 5, tzinfo=UTC))
