"""/api/users: get-or-create (one row under concurrency), settings checks, `/forget`, and
calendar credentials (encrypted, service token only)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import UserChanged
from common.infrastructure.redis_keys import Names
from rest_service.tests.conftest import Api, assert_error, channel, telegram_id
from rest_service.tests.test_llm import raw_row

MISSING = str(uuid.uuid4())


class TestGetOrCreate:
    async def test_201_then_200_with_the_same_user(
        self, client: httpx.AsyncClient, service
    ) -> None:
        body = {"telegram_id": telegram_id(), "username": "ann", "language": "ru"}
        first = await client.post("/api/users/", json=body, headers=service)
        again = await client.post(
            "/api/users/", json={**body, "username": "other"}, headers=service
        )
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert first.json()["blocked"] is False and first.json()["timezone"] is None
        # Answered from the row as JSON (no model): the shape a read through the model has.
        stored = await client.get(f"/api/users/{first.json()['id']}", headers=service)
        assert first.json() == stored.json()
        assert first.json()["event_alert_minutes"] == 0 and first.json()["voice_replies"] is False

    @pytest.mark.commits
    async def test_concurrent_calls_make_one_row(self, client, service, database_url: str) -> None:
        body = {"telegram_id": telegram_id()}
        responses = await asyncio.gather(
            *(client.post("/api/users/", json=body, headers=service) for _ in range(10))
        )
        assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
        (rows,) = raw_row(
            database_url, "SELECT count(*) FROM users WHERE telegram_id = %s", body["telegram_id"]
        )
        assert rows == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "telegram_id"),
            ({"telegram_id": 0}, "telegram_id"),
            ({"telegram_id": 2**64}, "telegram_id"),
            ({"telegram_id": "abc"}, "telegram_id"),
            ({"telegram_id": 5, "timezone": "Mars/Base"}, "timezone"),
            ({"telegram_id": 5, "preferred_model": "no-such-model"}, "preferred_model"),
        ],
    )
    async def test_invalid_is_422(self, client, service, body: dict, field: str) -> None:
        response = await client.post("/api/users/", json=body, headers=service)
        assert assert_error(response, 422, "validation_error")["fields"][0]["field"] == field


class TestUser:
    async def test_get_by_id_and_by_telegram(self, api: Api) -> None:
        user = await api.user()
        assert await api.ok("GET", f"/api/users/{user['id']}", api.service) == user
        assert (
            await api.ok("GET", f"/api/users/by-telegram/{user['telegram_id']}", api.service)
            == user
        )

    async def test_missing_is_404(self, client, service) -> None:
        assert_error(await client.get(f"/api/users/{MISSING}", headers=service), 404)
        assert_error(
            await client.get(f"/api/users/by-telegram/{telegram_id()}", headers=service), 404
        )
        assert_error(await client.put(f"/api/users/{MISSING}", json={}, headers=service), 404)
        assert_error(await client.delete(f"/api/users/{MISSING}", headers=service), 404)

    async def test_update_settings_and_block(self, api: Api) -> None:
        model = await api.model()
        user = await api.user()
        body = {"timezone": "Asia/Tokyo", "preferred_model": model["name"], "blocked": True}
        updated = await api.ok("PUT", f"/api/users/{user['id']}", api.service, json=body)
        assert {k: updated[k] for k in body} == body
        assert updated["username"] == "ann"
        cleared = await api.ok(
            "PUT", f"/api/users/{user['id']}", api.service, json={"timezone": None}
        )
        assert cleared["timezone"] is None and cleared["blocked"] is True
        blocked = await api.ok(
            "GET", "/api/users/", api.service, params={"blocked": True, "limit": 1000}
        )
        assert [u["id"] for u in blocked] == [user["id"]]

    @pytest.mark.parametrize(
        ("body", "field", "reason"),
        [
            ({"timezone": "Europe/Atlantis"}, "timezone", "IANA"),
            ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
            ({"preferred_model": "gpt-nonexistent"}, "preferred_model", "no model"),
            ({"blocked": None}, "blocked", "null"),
            ({"language": "x" * 17}, "language", "at most 16"),
        ],
    )
    async def test_invalid_update_is_422(self, api: Api, client, body, field, reason) -> None:
        user = await api.user()
        response = await client.put(f"/api/users/{user['id']}", json=body, headers=api.service)
        problem = assert_error(response, 422)["fields"][0]
        assert problem["field"] == field and reason in problem["reason"]

    async def test_list_pages_with_a_total(self, api: Api, client) -> None:
        for _ in range(3):
            await api.user()
        response = await client.get(
            "/api/users/", params={"limit": 2, "offset": 1}, headers=api.service
        )
        assert len(response.json()) == 2 and response.headers["X-Total-Count"] == "3"


class TestForget:
    @pytest.mark.commits
    async def test_removes_everything_of_the_user(
        self, api: Api, client: httpx.AsyncClient, database_url: str
    ) -> None:
        user, other = await api.user(), await api.user()
        assistant = await api.assistant()
        private = await api.thread(user["id"], assistant["id"])
        group = await api.thread(f"chat:-{telegram_id()}", assistant["id"])
        await api.say(private["thread_id"], "my secret plans")
        await api.say(group["thread_id"], "hello group", author="ann", user_id=user["id"])
        kept = await api.say(group["thread_id"], "hi from bob", author="bob", user_id=other["id"])
        job = await api.job(user_id=user["id"])
        await api.ok(
            "POST",
            f"/api/cron-jobs/{job['id']}/runs",
            api.service,
            json={"scheduled_for": "2030-01-01T09:00:00+00:00", "outcome": "on_time"},
        )
        await api.ok(
            "PUT",
            f"/api/users/{user['id']}/calendar-credentials",
            api.service,
            json={"credentials": {"token": "t"}},
        )
        await api.ok(
            "POST",
            "/api/tool-invocations/",
            api.service,
            json={"tool_name": "time", "user_id": user["id"], "duration_ms": 3},
        )

        assert (
            await client.delete(f"/api/users/{user['id']}", headers=api.service)
        ).status_code == 204

        uid = user["id"]
        counts = raw_row(
            database_url,
            """SELECT (SELECT count(*) FROM users WHERE id = %s),
                      (SELECT count(*) FROM chat_messages
                        WHERE conversation_key = %s OR user_id = %s),
                      (SELECT count(*) FROM user_assistant_threads WHERE user_id = %s),
                      (SELECT count(*) FROM cron_jobs WHERE user_id = %s),
                      (SELECT count(*) FROM cron_job_runs WHERE job_id = %s),
                      (SELECT count(*) FROM calendar_credentials WHERE user_id = %s),
                      (SELECT count(*) FROM tool_invocations WHERE user_id = %s)""",
            uid,
            uid,
            uid,
            uid,
            uid,
            job["id"],
            uid,
            uid,
        )
        assert counts == (0, 0, 0, 0, 0, 0, 0)
        left = await api.ok("GET", f"/api/threads/{group['thread_id']}/messages", api.service)
        assert [m["id"] for m in left] == [kept["id"]]


class TestCalendarCredentials:
    @pytest.mark.commits
    async def test_put_get_replace_delete(self, api: Api, client, database_url: str) -> None:
        user = await api.user()
        path = f"/api/users/{user['id']}/calendar-credentials"
        assert_error(await client.get(path, headers=api.service), 404)
        creds = {
            "token": "ya29.secret-token",
            "refresh_token": "1//refresh",
            "scopes": ["calendar"],
        }
        stored = await api.ok("PUT", path, api.service, json={"credentials": creds})
        assert stored["credentials"] == creds and stored["valid"] is True
        (raw,) = raw_row(
            database_url,
            "SELECT credentials_encrypted FROM calendar_credentials WHERE user_id = %s",
            user["id"],
        )
        assert "ya29" not in raw and "refresh" not in raw
        replaced = await api.ok(
            "PUT", path, api.service, json={"credentials": {"token": "new"}, "valid": False}
        )
        assert replaced["credentials"] == {"token": "new"} and replaced["valid"] is False
        assert (await api.ok("GET", path, api.service))["credentials"] == {"token": "new"}
        assert (await client.delete(path, headers=api.service)).status_code == 204
        assert_error(await client.delete(path, headers=api.service), 404)

    async def test_unknown_user_is_404_and_bad_body_is_422(self, api: Api, client) -> None:
        path = f"/api/users/{MISSING}/calendar-credentials"
        assert_error(await client.put(path, json={"credentials": {}}, headers=api.service), 404)
        user = await api.user()
        bad = await client.put(
            f"/api/users/{user['id']}/calendar-credentials",
            json={"credentials": "x"},
            headers=api.service,
        )
        assert assert_error(bad, 422)["fields"][0]["field"] == "credentials"

    async def test_never_in_a_user_response(self, api: Api, client) -> None:
        user = await api.user()
        await api.ok(
            "PUT",
            f"/api/users/{user['id']}/calendar-credentials",
            api.service,
            json={"credentials": {"token": "ya29.hidden"}},
        )
        for path in (f"/api/users/{user['id']}", "/api/users/?limit=1000"):
            assert "ya29.hidden" not in (await client.get(path, headers=api.admin)).text


class TestAnnounced:
    async def test_a_change_and_a_forget_are_said_on_user_updated(
        self, api: Api, client: httpx.AsyncClient, redis: aioredis.Redis, names: Names
    ) -> None:
        """tg_bot caches users: it hears of every committed change, from the API or the admin
        (both call the same domain functions), and drops its copy."""
        user = await api.user()
        path = f"/api/users/{user['id']}"
        async with channel(redis, names.user_updated) as heard:
            await api.ok("PUT", path, api.service, json={"timezone": "Asia/Tokyo"})
            assert (await client.delete(path, headers=api.service)).status_code == 204
            said = [UserChanged.model_validate_json(data) for data in await heard(2)]
        assert [(str(h.user_id), h.telegram_id, h.change) for h in said] == [
            (user["id"], user["telegram_id"], "updated"),
            (user["id"], user["telegram_id"], "deleted"),
        ]
