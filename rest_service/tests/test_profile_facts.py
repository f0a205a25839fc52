"""/api/users/{user_id}/facts: listed oldest first with paging, added once (a casefolded
duplicate answers 200 with the stored fact), capped per user, deleted one at a time and all
by `/forget`; and /api/users/{user_id}/usage: one user's own figures since a moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.wire import PROFILE_FACT_MAX_CHARS, PROFILE_FACTS_MAX
from rest_service.tests.conftest import Api, assert_error
from rest_service.tests.test_admin import ORIGIN, login

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Bodies as a client might send them: texts of every size and kind, other shapes.
BODIES = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=PROFILE_FACT_MAX_CHARS + 20)}),
    st.fixed_dictionaries({"text": st.one_of(st.none(), st.integers(), st.booleans())}),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    st.lists(st.text(max_size=5), max_size=2),
)


def acceptable(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return False
    text = " ".join(body["text"].split())
    clean = "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)
    return clean and 1 <= len(text) <= PROFILE_FACT_MAX_CHARS


async def add(api: Api, user_id: str, text: str, headers: dict[str, str] | None = None) -> Any:
    return await api.ok(
        "POST", f"/api/users/{user_id}/facts", headers or api.service, json={"text": text}
    )


class TestFacts:
    async def test_add_list_delete(self, api: Api) -> None:
        user = await api.user()
        path = f"/api/users/{user['id']}/facts"
        made = await api.http.post(path, json={"text": " My wife is  Anna "}, headers=api.service)
        assert made.status_code == 201, made.text
        fact = made.json()
        assert fact["text"] == "My wife is Anna" and fact["user_id"] == user["id"]
        await add(api, user["id"], "I don't eat meat")
        listed = await api.http.get(path, headers=api.admin)
        assert listed.headers["X-Total-Count"] == "2"
        assert [f["text"] for f in listed.json()] == ["My wife is Anna", "I don't eat meat"]
        gone = await api.http.delete(f"{path}/{fact['id']}", headers=api.service)
        assert gone.status_code == 204
        left = await api.ok("GET", path, api.service)
        assert [f["text"] for f in left] == ["I don't eat meat"]
        again = await api.http.delete(f"{path}/{fact['id']}", headers=api.service)
        assert_error(again, 404, "not_found")

    async def test_a_duplicate_is_stored_once(self, api: Api) -> None:
        user = await api.user()
        path = f"/api/users/{user['id']}/facts"
        first = await api.http.post(path, json={"text": "I live in Berlin"}, headers=api.service)
        again = await api.http.post(path, json={"text": "i live  in BERLIN"}, headers=api.service)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        listed = await api.http.get(path, headers=api.service)
        assert listed.headers["X-Total-Count"] == "1"

    async def test_facts_are_per_user(self, api: Api) -> None:
        ann, bob = await api.user(), await api.user()
        fact = await add(api, ann["id"], "I am vegan")
        assert await api.ok("GET", f"/api/users/{bob['id']}/facts", api.service) == []
        stranger = await api.http.delete(
            f"/api/users/{bob['id']}/facts/{fact['id']}", headers=api.service
        )
        assert_error(stranger, 404)
        assert len(await api.ok("GET", f"/api/users/{ann['id']}/facts", api.service)) == 1

    async def test_the_cap_is_a_409_naming_text(self, api: Api) -> None:
        user = await api.user()
        for n in range(PROFILE_FACTS_MAX):
            await add(api, user["id"], f"fact number {n}")
        over = await api.http.post(
            f"/api/users/{user['id']}/facts", json={"text": "one more"}, headers=api.service
        )
        body = assert_error(over, 409)
        assert body["fields"][0]["field"] == "text" and str(PROFILE_FACTS_MAX) in body["detail"]
        duplicate = await api.http.post(
            f"/api/users/{user['id']}/facts", json={"text": "FACT number 0"}, headers=api.service
        )
        assert duplicate.status_code == 200

    async def test_paging(self, api: Api) -> None:
        user = await api.user()
        for n in range(5):
            await add(api, user["id"], f"fact {n}")
        page = await api.http.get(
            f"/api/users/{user['id']}/facts",
            params={"limit": 2, "offset": 3},
            headers=api.service,
        )
        assert page.headers["X-Total-Count"] == "5"
        assert [f["text"] for f in page.json()] == ["fact 3", "fact 4"]
        bad = await api.http.get(
            f"/api/users/{user['id']}/facts", params={"limit": 0}, headers=api.service
        )
        assert assert_error(bad, 422)["fields"][0]["field"] == "limit"

    async def test_unknown_user_and_bad_ids(self, api: Api) -> None:
        missing = f"/api/users/{uuid.uuid4()}/facts"
        assert_error(await api.http.get(missing, headers=api.service), 404)
        assert_error(await api.http.post(missing, json={"text": "x"}, headers=api.service), 404)
        user = await api.user()
        bad = await api.http.delete(f"/api/users/{user['id']}/facts/nope", headers=api.service)
        assert assert_error(bad, 422)["fields"][0]["field"] == "fact_id"

    async def test_forget_deletes_the_facts(self, api: Api) -> None:
        user = await api.user()
        await add(api, user["id"], "My son is Tim")
        forgotten = await api.http.delete(f"/api/users/{user['id']}", headers=api.service)
        assert forgotten.status_code == 204
        again = await api.user(telegram_id=user["telegram_id"])
        assert await api.ok("GET", f"/api/users/{again['id']}/facts", api.service) == []

    async def test_a_token_is_needed(self, api: Api) -> None:
        user = await api.user()
        response = await api.http.get(f"/api/users/{user['id']}/facts")
        assert_error(response, 401)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "text"),
            ({"text": ""}, "text"),
            ({"text": "   "}, "text"),
            ({"text": "x" * (PROFILE_FACT_MAX_CHARS + 1)}, "text"),
            ({"text": "a\x00b"}, "text"),
            ({"text": 5}, "text"),
        ],
    )
    async def test_invalid_is_422(self, api: Api, body: dict, field: str) -> None:
        user = await api.user()
        response = await api.http.post(
            f"/api/users/{user['id']}/facts", json=body, headers=api.service
        )
        assert assert_error(response, 422, "validation_error")["fields"][0]["field"] == field

    @PROPERTY
    @given(body=BODIES)
    async def test_any_body_is_stored_or_named_and_loses_nothing(self, api: Api, body: Any) -> None:
        user = await api.user()
        kept = await add(api, user["id"], "I keep this")
        path = f"/api/users/{user['id']}/facts"
        response = await api.http.post(path, json=body, headers=api.service)
        if acceptable(body):
            assert response.status_code in (200, 201), response.text
            assert response.json()["text"] == " ".join(body["text"].split())
        else:
            fields = assert_error(response, 422)["fields"]
            assert fields and all(
                f["field"].startswith("text") or f["field"] == "body" for f in fields
            ), fields
        texts = [f["text"] for f in await api.ok("GET", path, api.service)]
        assert kept["text"] in texts


class TestUsage:
    async def test_counts_the_users_own_messages_tokens_and_tool_calls(self, api: Api) -> None:
        ann, bob = await api.user(), await api.user()
        private = await api.thread(ann["id"])
        group = await api.thread("chat:-100")
        await api.say(private["thread_id"], "hi", user_id=ann["id"])
        await api.say(private["thread_id"], "hello", role="assistant", tokens_in=100, tokens_out=20)
        await api.say(group["thread_id"], "ann: hi all", user_id=ann["id"])
        await api.say(
            group["thread_id"],
            "hi ann",
            role="assistant",
            user_id=ann["id"],
            tokens_in=50,
            tokens_out=5,
        )
        await api.say(group["thread_id"], "bob here", user_id=bob["id"])
        await api.say(
            group["thread_id"], "hi bob", role="assistant", user_id=bob["id"], tokens_in=7
        )
        for user_id in (ann["id"], ann["id"], bob["id"]):
            await api.ok(
                "POST",
                "/api/tool-invocations/",
                api.service,
                json={"tool_name": "time", "ok": True, "duration_ms": 3, "user_id": user_id},
            )
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        usage = await api.ok(
            "GET", f"/api/users/{ann['id']}/usage", api.service, params={"since": since}
        )
        assert {k: usage[k] for k in ("messages", "tokens_in", "tokens_out", "tool_calls")} == {
            "messages": 2,
            "tokens_in": 150,
            "tokens_out": 25,
            "tool_calls": 2,
        }
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        none = await api.ok(
            "GET", f"/api/users/{ann['id']}/usage", api.service, params={"since": later}
        )
        assert (none["messages"], none["tokens_in"], none["tool_calls"]) == (0, 0, 0)

    async def test_since_needs_an_offset_and_the_user_must_exist(self, api: Api) -> None:
        user = await api.user()
        naive = await api.http.get(
            f"/api/users/{user['id']}/usage",
            params={"since": "2026-01-01T00:00:00"},
            headers=api.service,
        )
        assert assert_error(naive, 422)["fields"][0]["field"] == "since"
        missing = await api.http.get(
            f"/api/users/{uuid.uuid4()}/usage",
            params={"since": "2026-01-01T00:00:00+00:00"},
            headers=api.service,
        )
        assert_error(missing, 404)


class TestAdmin:
    async def test_the_admin_sees_and_deletes_facts(
        self, client: httpx.AsyncClient, secrets: dict[str, str], api: Api
    ) -> None:
        await login(client, secrets["ADMIN_API_TOKEN"])
        user = await api.user()
        fact = await add(api, user["id"], "My cat is Barsik")
        listed = await client.get("/admin/profile-fact/list")
        assert listed.status_code == 200 and "My cat is Barsik" in listed.text
        gone = await client.delete(f"/admin/profile-fact/delete?pks={fact['id']}", headers=ORIGIN)
        assert gone.status_code == 200, gone.text
        assert await api.ok("GET", f"/api/users/{user['id']}/facts", api.service) == []
