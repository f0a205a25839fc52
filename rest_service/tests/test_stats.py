"""/api/tool-invocations and /api/stats."""

from __future__ import annotations

import uuid

import pytest

from rest_service.tests.conftest import Api, assert_error, unique

MISSING = str(uuid.uuid4())


class TestToolInvocations:
    async def test_append_and_list_with_filters(self, api: Api, client) -> None:
        user, tool, assistant = await api.user(), await api.tool(), await api.assistant()
        name = unique("tool")
        made = await client.post(
            "/api/tool-invocations/",
            json={
                "tool_name": name,
                "tool_id": tool["id"],
                "assistant_id": assistant["id"],
                "user_id": user["id"],
                "duration_ms": 12,
                "ok": False,
                "error": "boom",
            },
            headers=api.service,
        )
        assert made.status_code == 201 and made.json()["error"] == "boom"
        listed = await client.get(
            "/api/tool-invocations/", params={"tool_name": name, "ok": False}, headers=api.admin
        )
        assert [i["id"] for i in listed.json()] == [made.json()["id"]] and listed.headers[
            "X-Total-Count"
        ] == "1"
        mine = {"user_id": user["id"]}
        by_user = await api.ok("GET", "/api/tool-invocations/", api.admin, params=mine)
        assert [i["id"] for i in by_user] == [made.json()["id"]]
        succeeded = {**mine, "ok": True}
        assert await api.ok("GET", "/api/tool-invocations/", api.admin, params=succeeded) == []

    @pytest.mark.parametrize("field", ["tool_id", "assistant_id", "user_id"])
    async def test_unknown_reference_is_404(self, client, service, field: str) -> None:
        body = {"tool_name": "time", "duration_ms": 1, field: MISSING}
        assert_error(await client.post("/api/tool-invocations/", json=body, headers=service), 404)

    @pytest.mark.parametrize(
        "body",
        [
            {"duration_ms": 1},
            {"tool_name": "", "duration_ms": 1},
            {"tool_name": "t", "duration_ms": -5},
        ],
    )
    async def test_invalid_is_422(self, client, service, body: dict) -> None:
        assert_error(await client.post("/api/tool-invocations/", json=body, headers=service), 422)


class TestStats:
    async def test_counts_messages_users_tools_models_and_reminders(self, api: Api) -> None:
        user = await api.user()
        thread = await api.thread(user["id"])
        model = unique("model")
        await api.say(thread["thread_id"], "hello", user_id=user["id"])
        await api.say(
            thread["thread_id"],
            "hi!",
            role="assistant",
            model=model,
            tokens_in=100,
            tokens_out=20,
            latency_ms=400,
        )
        await api.say(
            thread["thread_id"],
            "hey",
            role="assistant",
            model=model,
            tokens_in=50,
            tokens_out=10,
            latency_ms=200,
        )
        tool = unique("tool")
        for ok in (True, True, False, True):
            await api.ok(
                "POST",
                "/api/tool-invocations/",
                api.service,
                json={"tool_name": tool, "duration_ms": 10, "ok": ok},
            )
        job = await api.job(user_id=user["id"])
        for day, outcome in ((1, "on_time"), (2, "late"), (3, "missed")):
            await api.ok(
                "POST",
                f"/api/cron-jobs/{job['id']}/runs",
                api.service,
                json={"scheduled_for": f"2099-01-0{day}T09:00:00+00:00", "outcome": outcome},
            )

        stats = await api.ok("GET", "/api/stats", api.admin, params={"days": 7})

        assert stats["messages_per_day"][-1]["messages"] == 3
        assert stats["active_users"]["last_day"] == 1 and stats["active_users"]["users_total"] == 1
        tools = {t["tool_name"]: t for t in stats["tool_calls"]}
        assert tools[tool] == {
            "tool_name": tool,
            "calls": 4,
            "failures": 1,
            "failure_rate": 0.25,
            "avg_duration_ms": 10.0,
        }
        models = {m["model"]: m for m in stats["models"]}
        assert models[model]["answers"] == 2 and models[model]["tokens_in"] == 150
        assert models[model]["tokens_out"] == 30 and models[model]["avg_latency_ms"] == 300.0
        reminders = stats["reminders"]
        assert reminders["on_time"] == 1 and reminders["late"] == 1 and reminders["missed"] == 1

    async def test_invalid_window_is_422(self, client, admin) -> None:
        assert_error(await client.get("/api/stats", params={"days": 0}, headers=admin), 422)
