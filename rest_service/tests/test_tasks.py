"""/api/users/{user_id}/tasks: listed by priority then deadline with filters and paging, added
once per idempotency key, changed, completed (its reminder cancelled), reopened, deleted (its
reminder cancelled), capped per user, refused with the field named, and gone with `/forget`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.infrastructure.wire import TASK_NOTES_MAX_CHARS, TASK_TITLE_MAX_CHARS, TASKS_MAX
from rest_service.tests.conftest import Api, assert_error


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def add(api: Api, user_id: str, title: str, **fields: Any) -> Any:
    body = {"title": title, **fields}
    return await api.ok("POST", f"/api/users/{user_id}/tasks", api.service, json=body)


async def reminder(api: Api, user: dict[str, Any], days: float = 2) -> Any:
    body = {
        "name": "task due",
        "user_id": user["id"],
        "chat_id": user["telegram_id"],
        "text": "task due",
        "run_at": at(days),
    }
    return await api.ok("POST", "/api/cron-jobs/", api.service, json=body)


async def job_status(api: Api, job_id: str) -> str:
    return (await api.ok("GET", f"/api/cron-jobs/{job_id}", api.service))["status"]


class TestTasks:
    async def test_listed_by_priority_then_deadline(self, api: Api) -> None:
        user = await api.user()
        await add(api, user["id"], "no deadline", priority="high")
        await add(api, user["id"], "later", priority="high", deadline=at(5))
        await add(api, user["id"], "sooner", priority="high", deadline=at(1))
        await add(api, user["id"], "low one", priority="low", deadline=at(0.5))
        made = await add(api, user["id"], "  normal\n one ", notes="with notes")
        assert made["title"] == "normal one" and made["priority"] == "normal"
        assert made["status"] == "open" and made["completed_at"] is None
        listed = await api.http.get(f"/api/users/{user['id']}/tasks", headers=api.admin)
        assert listed.headers["X-Total-Count"] == "5"
        titles = [t["title"] for t in listed.json()]
        assert titles == ["sooner", "later", "no deadline", "normal one", "low one"]

    async def test_filters_and_paging(self, api: Api) -> None:
        user = await api.user()
        path = f"/api/users/{user['id']}/tasks"
        first = await add(api, user["id"], "this week", deadline=at(3))
        await add(api, user["id"], "next month", deadline=at(30))
        await add(api, user["id"], "someday")
        await api.ok("PATCH", f"{path}/{first['id']}", api.service, json={"status": "done"})
        week = await api.ok("GET", path, api.service, params={"due_before": at(7)})
        assert [t["title"] for t in week] == ["this week"]
        still_open = await api.ok("GET", path, api.service, params={"status": "open"})
        assert [t["title"] for t in still_open] == ["next month", "someday"]
        page = await api.http.get(path, params={"limit": 1, "offset": 1}, headers=api.service)
        assert page.headers["X-Total-Count"] == "3" and len(page.json()) == 1
        naive = await api.http.get(
            path, params={"due_before": "2030-01-01T00:00"}, headers=api.service
        )
        assert assert_error(naive, 422)["fields"][0]["field"] == "due_before"

    async def test_complete_reopen_and_change(self, api: Api) -> None:
        user = await api.user()
        task = await add(api, user["id"], "Pay rent")
        path = f"/api/users/{user['id']}/tasks/{task['id']}"
        done = await api.ok("PATCH", path, api.service, json={"status": "done"})
        assert done["status"] == "done" and done["completed_at"] is not None
        reopened = await api.ok("PATCH", path, api.service, json={"status": "open"})
        assert reopened["status"] == "open" and reopened["completed_at"] is None
        changed = await api.ok(
            "PATCH", path, api.service, json={"title": "Pay the rent", "priority": "high"}
        )
        assert (changed["title"], changed["priority"]) == ("Pay the rent", "high")
        cleared = await api.ok("PATCH", path, api.service, json={"notes": None, "deadline": None})
        assert cleared["notes"] is None and cleared["deadline"] is None
        assert (await api.ok("GET", path, api.service))["title"] == "Pay the rent"
        refused = await api.http.patch(path, json={"title": None}, headers=api.service)
        assert assert_error(refused, 422)["fields"][0]["field"] == "title"

    async def test_completing_cancels_the_reminder_and_a_new_one_cancels_the_old(
        self, api: Api
    ) -> None:
        user = await api.user()
        first, second = await reminder(api, user), await reminder(api, user, 3)
        task = await add(api, user["id"], "Call Anna", reminder_job_id=first["id"])
        path = f"/api/users/{user['id']}/tasks/{task['id']}"
        await api.ok("PATCH", path, api.service, json={"reminder_job_id": second["id"]})
        assert await job_status(api, first["id"]) == "cancelled"
        assert await job_status(api, second["id"]) == "active"
        await api.ok("PATCH", path, api.service, json={"status": "done"})
        assert await job_status(api, second["id"]) == "cancelled"
        await api.ok("PATCH", path, api.service, json={"status": "open"})  # nothing to cancel

    async def test_deleting_cancels_the_reminder(self, api: Api) -> None:
        user = await api.user()
        job = await reminder(api, user)
        task = await add(api, user["id"], "Book flights", reminder_job_id=job["id"])
        path = f"/api/users/{user['id']}/tasks/{task['id']}"
        assert (await api.http.delete(path, headers=api.service)).status_code == 204
        assert await job_status(api, job["id"]) == "cancelled"
        assert_error(await api.http.get(path, headers=api.service), 404, "not_found")
        assert_error(await api.http.delete(path, headers=api.service), 404, "not_found")

    async def test_another_users_reminder_or_task_is_refused(self, api: Api) -> None:
        ann, bob = await api.user(), await api.user()
        bobs_job = await reminder(api, bob)
        refused = await api.http.post(
            f"/api/users/{ann['id']}/tasks",
            json={"title": "x", "reminder_job_id": bobs_job["id"]},
            headers=api.service,
        )
        assert assert_error(refused, 422)["fields"][0]["field"] == "reminder_job_id"
        bobs_task = await add(api, bob["id"], "Bob's")
        path = f"/api/users/{ann['id']}/tasks/{bobs_task['id']}"
        assert_error(await api.http.get(path, headers=api.service), 404)
        own = await add(api, ann["id"], "Ann's")
        patch = await api.http.patch(
            f"/api/users/{ann['id']}/tasks/{own['id']}",
            json={"reminder_job_id": bobs_job["id"]},
            headers=api.service,
        )
        assert assert_error(patch, 422)["fields"][0]["field"] == "reminder_job_id"

    async def test_an_idempotency_key_adds_once(self, api: Api) -> None:
        user, other = await api.user(), await api.user()
        key = f"m-{uuid.uuid4()}:0"
        path = f"/api/users/{user['id']}/tasks"
        made = await api.http.post(
            path, json={"title": "x", "idempotency_key": key}, headers=api.service
        )
        again = await api.http.post(
            path, json={"title": "y", "idempotency_key": key}, headers=api.service
        )
        assert (made.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == made.json()["id"]
        theirs = await api.http.post(
            f"/api/users/{other['id']}/tasks",
            json={"title": "x", "idempotency_key": key},
            headers=api.service,
        )
        assert assert_error(theirs, 422)["fields"][0]["field"] == "idempotency_key"

    async def test_the_cap(self, api: Api) -> None:
        user = await api.user()
        for n in range(TASKS_MAX):
            await add(api, user["id"], f"task {n}")
        over = await api.http.post(
            f"/api/users/{user['id']}/tasks", json={"title": "three"}, headers=api.service
        )
        assert assert_error(over, 409)["fields"][0]["field"] == "title"

    async def test_unknown_user(self, api: Api) -> None:
        missing = f"/api/users/{uuid.uuid4()}/tasks"
        assert_error(await api.http.get(missing, headers=api.service), 404)
        assert_error(await api.http.post(missing, json={"title": "x"}, headers=api.service), 404)

    async def test_forget_deletes_the_tasks(self, api: Api) -> None:
        user = await api.user()
        job = await reminder(api, user)
        await add(api, user["id"], "Water plants", reminder_job_id=job["id"])
        forgotten = await api.http.delete(f"/api/users/{user['id']}", headers=api.service)
        assert forgotten.status_code == 204
        again = await api.user(telegram_id=user["telegram_id"])
        assert await api.ok("GET", f"/api/users/{again['id']}/tasks", api.service) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "title"),
            ({"title": "   "}, "title"),
            ({"title": "x" * (TASK_TITLE_MAX_CHARS + 1)}, "title"),
            ({"title": "a\x00b"}, "title"),
            ({"title": "x", "notes": "n" * (TASK_NOTES_MAX_CHARS + 1)}, "notes"),
            ({"title": "x", "priority": "urgent"}, "priority"),
            ({"title": "x", "deadline": "2030-01-01T09:00"}, "deadline"),
            ({"title": "x", "deadline": "next friday"}, "deadline"),
            ({"title": "x", "reminder_job_id": "nope"}, "reminder_job_id"),
        ],
    )
    async def test_invalid_is_422_naming_the_field(
        self, api: Api, body: dict[str, Any], field: str
    ) -> None:
        user = await api.user()
        response = await api.http.post(
            f"/api/users/{user['id']}/tasks", json=body, headers=api.service
        )
        assert assert_error(response, 422)["fields"][0]["field"] == field

    async def test_a_bad_status_in_a_patch_is_422(self, api: Api) -> None:
        user = await api.user()
        task = await add(api, user["id"], "x")
        path = f"/api/users/{user['id']}/tasks/{task['id']}"
        response = await api.http.patch(path, json={"status": "finished"}, headers=api.service)
        assert assert_error(response, 422)["fields"][0]["field"] == "status"


class TestGoogleTasksSync:
    """What Google Tasks sync keeps here: the per-user switch and read mark, each task's mark
    of the Google task it mirrors, and the Google tasks still to delete there."""

    async def test_sync_is_off_until_turned_on_and_off_forgets_the_read_mark(
        self, api: Api
    ) -> None:
        user = await api.user()
        path = f"/api/users/{user['id']}/task-sync"
        off: dict[str, object] = {"enabled": False, "updated_min": None, "deletions": []}
        assert await api.ok("GET", path, api.service) == off
        stamp = "2030-01-01T00:00:00.000Z"
        on = await api.ok("PUT", path, api.service, json={"enabled": True})
        read = await api.ok("PUT", path, api.service, json={"updated_min": stamp})
        assert on["enabled"] and (read["enabled"], read["updated_min"]) == (True, stamp)
        assert await api.ok("PUT", path, api.service, json={"enabled": False}) == off
        missing = await api.http.get(f"/api/users/{uuid.uuid4()}/task-sync", headers=api.service)
        assert_error(missing, 404)
        bad = await api.http.put(path, headers=api.service, json={"updated_min": ""})
        assert "updated_min" in assert_error(bad, 422)["detail"]

    async def test_a_mark_keeps_updated_at_and_one_google_task_has_one_mirror(
        self, api: Api
    ) -> None:
        user = await api.user()
        task = await add(api, user["id"], "water the plants")
        other = await add(api, user["id"], "feed the cat")
        link = {"google_task_id": "g1", "google_updated": "2030-01-01T00:00:00.000Z"}
        path = f"/api/users/{user['id']}/tasks/{task['id']}/google"
        marked = await api.ok(
            "PUT", path, api.service, json={**link, "synced_at": task["updated_at"]}
        )
        assert marked["updated_at"] == task["updated_at"] == marked["google_synced_at"]
        assert marked["google_task_id"] == "g1"
        twice = await api.http.put(
            f"/api/users/{user['id']}/tasks/{other['id']}/google",
            headers=api.service,
            json={**link, "synced_at": other["updated_at"]},
        )
        assert "google_task_id" in assert_error(twice, 422)["detail"]

    async def test_a_synced_task_deleted_here_is_kept_to_delete_in_google(self, api: Api) -> None:
        user = await api.user()
        tasks = f"/api/users/{user['id']}/tasks"
        sync = f"/api/users/{user['id']}/task-sync"
        link = {"google_updated": "2030-01-01T00:00:00.000Z"}
        ids = []
        for n in (1, 2, 3):
            task = await add(api, user["id"], f"task {n}")
            body = {**link, "google_task_id": f"g{n}", "synced_at": task["updated_at"]}
            await api.ok("PUT", f"{tasks}/{task['id']}/google", api.service, json=body)
            ids.append(task["id"])
        local = await add(api, user["id"], "never synced")
        for task_id in (ids[0], local["id"]):
            gone = await api.http.delete(f"{tasks}/{task_id}", headers=api.service)
            assert gone.status_code == 204
        from_google = await api.http.delete(
            f"{tasks}/{ids[1]}", headers=api.service, params={"from_google": "true"}
        )
        assert from_google.status_code == 204
        assert (await api.ok("GET", sync, api.service))["deletions"] == ["g1"]
        done = await api.http.delete(f"{sync}/deletions/g1", headers=api.service)
        assert done.status_code == 204
        assert (await api.ok("GET", sync, api.service))["deletions"] == []
