"""A module's shared rest_service (`module_rest_service`, tests/harness.py) starts on a
database without the cron jobs earlier modules left there: a cron_service the module starts
would fire every one that is due at once."""

from __future__ import annotations

import uuid

import httpx
import pytest

from ops.processes import Stack
from tests.harness import query

#: Nothing else here: the module's shared rest_service must not be set up before the test.
pytestmark = pytest.mark.e2e


def cron_jobs(database_url: str) -> int:
    [(count,)] = query(database_url, "SELECT count(*) FROM cron_jobs")
    return int(count)


def test_a_modules_rest_service_starts_without_the_cron_jobs_others_left(
    stack: Stack, database_url: str, secrets: dict[str, str], request: pytest.FixtureRequest
) -> None:
    earlier = stack.start("rest_service")  # an earlier module's, on the same database
    auth = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=earlier.url, headers=auth) as http:
        telegram_id = uuid.uuid4().int % 10**12 + 1
        user = http.post("/api/users/", json={"telegram_id": telegram_id}).raise_for_status()
        job = {"name": "left", "chat_id": telegram_id, "text": "hi", "cron_expression": "0 9 * * *"}
        http.post("/api/cron-jobs/", json={**job, "user_id": user.json()["id"]}).raise_for_status()
    earlier.stop()
    assert cron_jobs(database_url) >= 1

    shared: Stack = request.getfixturevalue("module_rest_service")

    assert cron_jobs(database_url) == 0
    assert shared["rest_service"].running
