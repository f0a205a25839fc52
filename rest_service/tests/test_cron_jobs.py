"""/api/cron-jobs and runs: one-off and recurring jobs, cron/timezone checks, idempotency,
`next_run_at` kept right, filters, and `cron:updated` on every write."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from rest_service.tests.conftest import Api, assert_error, channel, unique

MISSING = str(uuid.uuid4())


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


class TestCreate:
    async def test_one_off_job(self, api: Api) -> None:
        user = await api.user(timezone="Europe/Moscow")
        when = in_hours(2)
        job = await api.job(user_id=user["id"], cron_expression=None, run_at=when)
        assert job["status"] == "active" and job["timezone"] == "Europe/Moscow"
        assert datetime.fromisoformat(job["next_run_at"]) == datetime.fromisoformat(when)

    async def test_recurring_job_runs_in_its_timezone(self, api: Api) -> None:
        job = await api.job(cron_expression="30 9 * * 1-5", timezone="Asia/Tokyo")
        next_run = datetime.fromisoformat(job["next_run_at"])
        local = next_run.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
        assert (local.hour, local.minute) == (9, 30) and local.isoweekday() <= 5
        assert next_run > datetime.now(UTC)

    async def test_timezone_defaults_to_the_settings(self, api: Api) -> None:
        assert (await api.job())["timezone"] == "UTC"

    async def test_a_job_made_in_another_channel_keeps_where_it_fires(self, api: Api) -> None:
        job = await api.job(channel="whatsapp", channel_chat_id="4915112345678")
        assert (job["channel"], job["channel_chat_id"]) == ("whatsapp", "4915112345678")
        assert (await api.job())["channel"] == "telegram", "Telegram's is the default"

    async def test_a_job_of_another_channel_without_its_conversation_is_refused(
        self, api: Api, client
    ) -> None:
        body = {"name": "n", "chat_id": 1, "text": "t", "run_at": in_hours(1), "channel": "slack"}
        response = await client.post("/api/cron-jobs/", json=body, headers=api.service)
        fields = assert_error(response, 422)["fields"]
        assert [f["field"] for f in fields] == ["channel_chat_id"]
        unknown = await client.post(
            "/api/cron-jobs/", json={**body, "channel": "fax"}, headers=api.service
        )
        assert [f["field"] for f in assert_error(unknown, 422)["fields"]] == ["channel"]

    async def test_a_stored_idempotency_key_answers_200_with_that_job(
        self, api: Api, client
    ) -> None:
        key = unique("key")
        body = {
            "name": "n",
            "chat_id": 1,
            "text": "t",
            "run_at": in_hours(1),
            "idempotency_key": key,
        }
        first = await client.post("/api/cron-jobs/", json=body, headers=api.service)
        again = await client.post(
            "/api/cron-jobs/", json={**body, "text": "other"}, headers=api.service
        )
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()

    @pytest.mark.commits
    async def test_concurrent_creates_with_one_key_make_one_job(self, api: Api, client) -> None:
        body = {
            "name": "n",
            "chat_id": 1,
            "text": "t",
            "run_at": in_hours(1),
            "idempotency_key": unique("k"),
        }
        responses = await asyncio.gather(
            *(client.post("/api/cron-jobs/", json=body, headers=api.service) for _ in range(5))
        )
        assert len({r.json()["id"] for r in responses}) == 1
        assert sorted(r.status_code for r in responses) == [200] * 4 + [201]

    @pytest.mark.parametrize(
        ("change", "field", "reason"),
        [
            ({"cron_expression": "0 9 * *"}, "cron_expression", "5 fields"),
            (
                {"cron_expression": "61 9 * * *"},
                "cron_expression",
                "minute field '61' is out of range",
            ),
            (
                {"cron_expression": "0 9 * * 8"},
                "cron_expression",
                "day of week field '8' is out of range",
            ),
            ({"cron_expression": "0 9 L * *"}, "cron_expression", "not standard cron"),
            ({"cron_expression": "0 0 31 2 *"}, "cron_expression", "never fires"),
            ({"cron_expression": "0 9 * * mon#2"}, "cron_expression", "not standard cron"),
            ({"cron_expression": "0 9 * * ٣"}, "cron_expression", "not standard cron"),
            ({"cron_expression": "0 9 * * fri-mon"}, "cron_expression", "runs backwards"),
            ({"cron_expression": "*/0 9 * * *"}, "cron_expression", "bad step"),
            ({"cron_expression": "@fortnightly"}, "cron_expression", "5 fields"),
            (
                {"cron_expression": "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0"},
                "cron_expression",
                "needs its anchor",
            ),
            (
                {"cron_expression": "DTSTART:20301203T080000 RRULE:FREQ=WEEKLY;INTERVAL=2"},
                "cron_expression",
                "the rule needs BYHOUR",
            ),
            (
                {
                    "cron_expression": "DTSTART:20301203T080000 RRULE:FREQ=WEEKLY;UNTIL=20310101;"
                    "BYHOUR=8;BYMINUTE=0"
                },
                "cron_expression",
                "UNTIL is not supported",
            ),
            ({"timezone": "Moscow"}, "timezone", "IANA"),
            ({"cron_expression": None}, "run_at", "exactly one"),
            ({"run_at": in_hours(1)}, "run_at", "exactly one"),
            ({"cron_expression": None, "run_at": "2030-01-01T09:00:00"}, "run_at", "timezone"),
            ({"cron_expression": None, "run_at": in_hours(-1)}, "run_at", "in the past"),
            ({"text": None}, "text", "needs text"),
            ({"type": "assistant_prompt"}, "prompt", "needs prompt"),
            ({"chat_id": 2**63}, "chat_id", "less than or equal"),
            ({"status": "sleeping"}, "status", ""),
        ],
    )
    async def test_invalid_is_422_saying_why(
        self, client: httpx.AsyncClient, service, change: dict, field: str, reason: str
    ) -> None:
        body = {"name": "n", "chat_id": 1, "text": "t", "cron_expression": "0 9 * * *", **change}
        body = {k: v for k, v in body.items() if v is not None}
        problem = assert_error(
            await client.post("/api/cron-jobs/", json=body, headers=service), 422
        )["fields"][0]
        assert problem["field"] == field and reason in problem["reason"], problem

    async def test_unknown_user_is_404(self, api: Api, client) -> None:
        body = {
            "name": "n",
            "chat_id": 1,
            "text": "t",
            "cron_expression": "0 9 * * *",
            "user_id": MISSING,
        }
        assert_error(await client.post("/api/cron-jobs/", json=body, headers=api.service), 404)


class TestSchedule:
    """`next_run_at` by `common.features.schedule`, the rule cron_service fires by, across DST."""

    async def after_a_run(self, api: Api, expression: str, zone: str, last: str) -> datetime:
        job = await api.job(cron_expression=expression, timezone=zone)
        path = f"/api/cron-jobs/{job['id']}"
        moved = await api.ok("PUT", path, api.service, json={"last_run_at": last})
        return datetime.fromisoformat(moved["next_run_at"]).astimezone(UTC)

    async def test_a_time_skipped_by_spring_forward_is_next_at_the_end_of_the_gap(
        self, api: Api
    ) -> None:
        # New York, Sunday 14 March 2027: 02:00 EST jumps to 03:00 EDT (07:00Z).
        after = await self.after_a_run(api, "30 2 * * *", "America/New_York", "2027-03-13T07:30Z")
        assert after == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)

    async def test_a_time_repeated_by_fall_back_is_next_the_following_day(self, api: Api) -> None:
        # New York, Sunday 7 November 2027: 01:30 EDT (05:30Z), then 01:30 EST (06:30Z).
        after = await self.after_a_run(api, "30 1 * * *", "America/New_York", "2027-11-07T05:30Z")
        assert after == datetime(2027, 11, 8, 6, 30, tzinfo=UTC)

    @pytest.mark.parametrize("last", ["9999-12-31T23:59:00Z", "9999-12-31T00:00:00-12:00"])
    async def test_a_last_run_at_the_end_of_the_calendar_is_422_not_500(
        self, api: Api, client: httpx.AsyncClient, last: str
    ) -> None:
        job = await api.job(cron_expression="0 9 * * *", timezone="Asia/Tokyo")
        response = await client.put(
            f"/api/cron-jobs/{job['id']}", json={"last_run_at": last}, headers=api.service
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "last_run_at"

    @pytest.mark.parametrize(
        ("macro", "stored"), [("@daily", "0 0 * * *"), ("@Weekly", "0 0 * * 0")]
    )
    async def test_a_macro_is_stored_as_its_five_fields(
        self, api: Api, macro: str, stored: str
    ) -> None:
        assert (await api.job(cron_expression=macro))["cron_expression"] == stored

    async def test_every_other_tuesday_keeps_its_weeks_across_spring_forward(
        self, api: Api
    ) -> None:
        # A recurrence rule, stored with its parts in one order; New York's clocks jump from
        # 02:00 to 03:00 on Sunday 14 March 2027, and the rule keeps its two-week step.
        rule = "DTSTART:20270302T083000 RRULE:BYMINUTE=30;BYHOUR=8;BYDAY=TU;INTERVAL=2;FREQ=WEEKLY"
        job = await api.job(cron_expression=rule, timezone="America/New_York")
        assert job["cron_expression"] == (
            "DTSTART:20270302T083000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=30"
        )
        after = await self.after_a_run(
            api, job["cron_expression"], "America/New_York", "2027-03-02T13:30Z"
        )
        assert after == datetime(2027, 3, 16, 12, 30, tzinfo=UTC)  # 08:30 EDT, two weeks on

    async def test_spacing_is_normalized(self, api: Api) -> None:
        job = await api.job(cron_expression="  0   9 * *\t1-5 ")
        assert job["cron_expression"] == "0 9 * * 1-5"


class TestJob:
    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client, service, method: str) -> None:
        assert_error(
            await client.request(method, f"/api/cron-jobs/{MISSING}", json={}, headers=service), 404
        )

    async def test_partial_update_recomputes_the_next_run(self, api: Api) -> None:
        job = await api.job(cron_expression="0 9 * * *")
        path = f"/api/cron-jobs/{job['id']}"
        moved = await api.ok("PUT", path, api.service, json={"cron_expression": "15 10 * * *"})
        assert moved["text"] == job["text"]
        assert datetime.fromisoformat(moved["next_run_at"]).minute == 15
        paused = await api.ok("PUT", path, api.service, json={"status": "paused"})
        assert paused["next_run_at"] is None
        resumed = await api.ok("PUT", path, api.service, json={"status": "active"})
        assert resumed["next_run_at"] is not None

    async def test_recording_a_run_moves_a_recurring_job_and_ends_a_one_off(self, api: Api) -> None:
        recurring = await api.job(cron_expression="0 * * * *")
        first = datetime.fromisoformat(recurring["next_run_at"])
        after = await api.ok(
            "PUT",
            f"/api/cron-jobs/{recurring['id']}",
            api.service,
            json={"last_run_at": first.isoformat()},
        )
        assert datetime.fromisoformat(after["next_run_at"]) == first + timedelta(hours=1)
        once = await api.job(cron_expression=None, run_at=in_hours(1))
        done = await api.ok(
            "PUT",
            f"/api/cron-jobs/{once['id']}",
            api.service,
            json={"last_run_at": once["run_at"], "status": "done"},
        )
        assert done["next_run_at"] is None and done["status"] == "done"

    async def test_switching_to_one_off(self, api: Api, client) -> None:
        job = await api.job()
        path = f"/api/cron-jobs/{job['id']}"
        bad = await client.put(path, json={"run_at": in_hours(1)}, headers=api.service)
        assert assert_error(bad, 422)["fields"][0]["field"] == "run_at"
        switched = await api.ok(
            "PUT", path, api.service, json={"run_at": in_hours(1), "cron_expression": None}
        )
        assert switched["cron_expression"] is None and switched["next_run_at"] is not None

    async def test_invalid_update_is_422(self, api: Api, client) -> None:
        job = await api.job()
        for body in (
            {"cron_expression": "* * * * * *"},
            {"timezone": "Nowhere/City"},
            {"chat_id": None},
        ):
            assert_error(
                await client.put(f"/api/cron-jobs/{job['id']}", json=body, headers=api.service), 422
            )

    async def test_filters(self, api: Api) -> None:
        user = await api.user()
        soon = await api.job(user_id=user["id"], cron_expression=None, run_at=in_hours(1))
        later = await api.job(user_id=user["id"], cron_expression=None, run_at=in_hours(48))
        prompt = await api.job(
            user_id=user["id"],
            type="assistant_prompt",
            prompt="sum up",
            run_at=in_hours(72),
            cron_expression=None,
            chat_id=-100,
        )
        await api.ok("PUT", f"/api/cron-jobs/{later['id']}", api.service, json={"status": "paused"})
        params = {"user_id": user["id"]}
        ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
        assert set(ids(await api.ok("GET", "/api/cron-jobs/", api.service, params=params))) == {
            soon["id"],
            later["id"],
            prompt["id"],
        }
        due = await api.ok(
            "GET",
            "/api/cron-jobs/",
            api.service,
            params={**params, "due_before": in_hours(2), "status": "active"},
        )
        assert ids(due) == [soon["id"]]
        paused = await api.ok(
            "GET", "/api/cron-jobs/", api.service, params={**params, "status": "paused"}
        )
        assert ids(paused) == [later["id"]]
        prompts = await api.ok(
            "GET", "/api/cron-jobs/", api.service, params={**params, "type": "assistant_prompt"}
        )
        assert ids(prompts) == [prompt["id"]]
        in_group = await api.ok(
            "GET", "/api/cron-jobs/", api.service, params={**params, "chat_id": -100}
        )
        assert ids(in_group) == [prompt["id"]]

    async def test_every_write_is_announced_on_cron_updated(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        async with channel(redis, names.cron_updated) as heard:
            job = await api.job()
            await api.ok("PUT", f"/api/cron-jobs/{job['id']}", api.service, json={"text": "x"})
            await api.http.delete(f"/api/cron-jobs/{job['id']}", headers=api.service)
            changes = [json.loads(data) for data in await heard(3)]
        assert changes == [
            {"job_id": job["id"], "change": c} for c in ("created", "updated", "deleted")
        ]


class TestRuns:
    async def test_append_once_per_scheduled_time_and_list(self, api: Api, client) -> None:
        job = await api.job()
        path = f"/api/cron-jobs/{job['id']}/runs"
        body = {
            "scheduled_for": "2030-01-01T09:00:00+03:00",
            "delivered_at": "2030-01-01T06:02:00+00:00",
            "outcome": "late",
            "message_id": str(uuid.uuid4()),
        }
        first = await client.post(path, json=body, headers=api.service)
        again = await client.post(path, json={**body, "outcome": "on_time"}, headers=api.service)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json() and first.json()["outcome"] == "late"
        await api.ok(
            "POST",
            path,
            api.service,
            json={"scheduled_for": "2030-01-02T09:00:00+03:00", "outcome": "missed"},
        )
        listed = await client.get(path, headers=api.service)
        assert listed.headers["X-Total-Count"] == "2"
        assert [r["outcome"] for r in listed.json()] == ["missed", "late"]
        late = await api.ok(
            "GET",
            "/api/cron-job-runs/",
            api.service,
            params={"job_id": job["id"], "outcome": "late"},
        )
        assert [r["id"] for r in late] == [first.json()["id"]]
        since = await api.ok(
            "GET",
            "/api/cron-job-runs/",
            api.service,
            params={"job_id": job["id"], "since": "2030-01-02T00:00:00+00:00"},
        )
        assert [r["outcome"] for r in since] == ["missed"]

    async def test_missing_job_is_404_and_bad_run_is_422(self, api: Api, client) -> None:
        body = {"scheduled_for": "2030-01-01T09:00:00+00:00", "outcome": "on_time"}
        assert_error(
            await client.post(f"/api/cron-jobs/{MISSING}/runs", json=body, headers=api.service), 404
        )
        assert_error(await client.get(f"/api/cron-jobs/{MISSING}/runs", headers=api.service), 404)
        job = await api.job()
        for bad in (
            {**body, "outcome": "whenever"},
            {**body, "scheduled_for": "2030-01-01T09:00:00"},
            {"outcome": "late"},
        ):
            assert_error(
                await client.post(
                    f"/api/cron-jobs/{job['id']}/runs", json=bad, headers=api.service
                ),
                422,
            )

    async def test_deleting_a_job_deletes_its_runs(self, api: Api, client) -> None:
        job = await api.job()
        await api.ok(
            "POST",
            f"/api/cron-jobs/{job['id']}/runs",
            api.service,
            json={"scheduled_for": "2030-01-01T09:00:00+00:00", "outcome": "on_time"},
        )
        assert (
            await client.delete(f"/api/cron-jobs/{job['id']}", headers=api.service)
        ).status_code == 204
        assert (
            await api.ok("GET", "/api/cron-job-runs/", api.service, params={"job_id": job["id"]})
            == []
        )
