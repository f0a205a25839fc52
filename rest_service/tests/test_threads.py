"""/api/threads and /api/messages: get-or-create under concurrency, reset, append with
dedup, the recent window, and full-text search scoped to one conversation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from common.infrastructure.wire import PROFILE_FACT_MAX_CHARS
from rest_service.app.domain.chat_messages import SEARCH_DEPTH
from rest_service.app.state import STATE
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_profile_facts import PROPERTY, acceptable

MISSING = str(uuid.uuid4())
#: Facts as people state them: other scripts, emoji, quotes and markup, the longest allowed.
FACTS_PEOPLE_WRITE = [
    "живёт в Санкт-Петербурге, работает удалённо",
    "allergic to peanuts 🥜 — always ask!",
    'calls her mom "Mama" and her boss "the Captain"',
    "שמה רחל, היא מעדיפה פגישות בבוקר",
    "prefers <b>short</b> answers & no *markdown*",
    "  two   spaces\tand a tab  ",
    "名前は佐藤です。朝型です。",
    "x" * PROFILE_FACT_MAX_CHARS,
]


class TestThreads:
    @pytest.mark.commits  # Postgres' now() stands still within one transaction
    async def test_get_or_create_is_201_then_200(self, api: Api, client) -> None:
        assistant = await api.assistant()
        body = {"user_id": unique("u"), "assistant_id": assistant["id"]}
        first = await client.post("/api/threads/", json=body, headers=api.service)
        again = await client.post("/api/threads/", json=body, headers=api.service)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["thread_id"] == again.json()["thread_id"]
        assert first.json()["thread_id"].startswith("thread_")
        assert again.json()["last_used"] >= first.json()["last_used"]

    @pytest.mark.commits
    async def test_concurrent_get_or_create_makes_one_row(self, api: Api, client) -> None:
        assistant = await api.assistant()
        body = {"user_id": unique("u"), "assistant_id": assistant["id"]}
        responses = await asyncio.gather(
            *(client.post("/api/threads/", json=body, headers=api.service) for _ in range(10))
        )
        assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
        listed = await api.ok(
            "GET", "/api/threads/", api.service, params={"user_id": body["user_id"]}
        )
        assert len(listed) == 1

    async def test_a_group_has_its_own_thread(self, api: Api) -> None:
        assistant = await api.assistant()
        private = await api.thread(unique("u"), assistant["id"])
        group = await api.thread("chat:-100123", assistant["id"])
        assert private["thread_id"] != group["thread_id"]

    async def test_get_by_id_or_thread_id(self, api: Api) -> None:
        thread = await api.thread(unique("u"))
        assert await api.ok("GET", f"/api/threads/{thread['id']}", api.service) == thread
        assert await api.ok("GET", f"/api/threads/{thread['thread_id']}", api.service) == thread

    async def test_missing_is_404(self, client, service) -> None:
        assert_error(await client.get(f"/api/threads/{MISSING}", headers=service), 404)
        body = {"user_id": "u", "assistant_id": MISSING}
        assert (
            "assistant"
            in assert_error(await client.post("/api/threads/", json=body, headers=service), 404)[
                "detail"
            ]
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"user_id": "", "assistant_id": MISSING},
            {"user_id": "u"},
            {"user_id": "u", "assistant_id": 5},
        ],
    )
    async def test_invalid_is_422(self, client, service, body: dict) -> None:
        assert_error(await client.post("/api/threads/", json=body, headers=service), 422)

    async def test_reset_gives_a_new_thread_id_and_keeps_old_messages(
        self, api: Api, client
    ) -> None:
        conversation = unique("u")
        first, second = await api.assistant(), await api.assistant()
        thread = await api.thread(conversation, first["id"])
        other = await api.thread(conversation, second["id"])
        await api.say(thread["thread_id"], "before the reset")
        reset = await api.ok(
            "POST",
            "/api/threads/reset",
            api.service,
            json={"user_id": conversation, "assistant_id": first["id"]},
        )
        assert [t["id"] for t in reset] == [thread["id"]]
        assert reset[0]["thread_id"] != thread["thread_id"]
        untouched = await api.ok("GET", f"/api/threads/{other['id']}", api.service)
        assert untouched["thread_id"] == other["thread_id"]
        old = await api.ok("GET", f"/api/threads/{thread['thread_id']}/messages", api.service)
        assert [m["content"] for m in old] == ["before the reset"]
        fresh = await api.ok(
            "GET", f"/api/threads/{reset[0]['thread_id']}/messages/recent", api.service
        )
        assert fresh == []
        everything = await api.ok(
            "POST", "/api/threads/reset", api.service, json={"user_id": conversation}
        )
        assert len(everything) == 2
        assert (
            await api.ok(
                "POST", "/api/threads/reset", api.service, json={"user_id": unique("none")}
            )
            == []
        )


class TestMessages:
    async def test_append_one_and_a_batch_in_order(self, api: Api, client) -> None:
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        one = await client.post(path, json={"role": "user", "content": "hi"}, headers=api.service)
        assert one.status_code == 201 and one.json()["role"] == "user"
        calls = [
            {"id": "call_1", "type": "function", "function": {"name": "time", "arguments": "{}"}}
        ]
        batch = {
            "messages": [
                {"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "tool", "content": "12:00", "tool_call_id": "call_1", "name": "time"},
                {
                    "role": "assistant",
                    "content": "It is noon.",
                    "model": "m",
                    "tokens_in": 10,
                    "tokens_out": 4,
                    "latency_ms": 250,
                },
            ]
        }
        many = await client.post(path, json=batch, headers=api.service)
        assert many.status_code == 201
        assert [m["role"] for m in many.json()] == ["assistant", "tool", "assistant"]
        assert many.json()[0]["tool_calls"] == calls
        page = await client.get(path, params={"limit": 2, "offset": 1}, headers=api.service)
        assert [m["role"] for m in page.json()] == ["assistant", "tool"]
        assert page.headers["X-Total-Count"] == "4"

    async def test_the_answer_is_what_a_read_gives_or_only_the_status_when_asked(
        self, api: Api, client
    ) -> None:
        """The append's body is built from the rows: it must equal the thread's page.
        `Prefer: return=minimal` (the assistant ignores the body) answers the status only."""
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        batch = {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [call],
                    "tokens_in": 2,
                    "dedup_key": unique("k"),
                },
                {"role": "tool", "content": "x", "tool_call_id": "c", "name": "f"},
            ]
        }
        stored = await client.post(path, json=batch, headers=api.service)
        assert stored.status_code == 201
        assert stored.json() == (await client.get(path, headers=api.service)).json()
        minimal = {**api.service, "Prefer": "return=minimal"}
        again = await client.post(path, json=batch, headers=minimal)
        assert (again.status_code, again.content) == (201, b"")  # the unkeyed one is new
        assert again.headers["Preference-Applied"] == "return=minimal"
        repeat = {"messages": batch["messages"][:1]}
        assert (await client.post(path, json=repeat, headers=minimal)).status_code == 200
        missing = await client.post("/api/threads/nope/messages", json=repeat, headers=minimal)
        assert_error(missing, 404)

    async def test_a_stored_dedup_key_is_not_stored_twice(self, api: Api, client) -> None:
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        body = {"role": "user", "content": "once", "dedup_key": unique("k")}
        first = await client.post(path, json=body, headers=api.service)
        again = await client.post(path, json={"messages": [body, body]}, headers=api.service)
        assert (first.status_code, again.status_code) == (201, 200)
        assert {m["id"] for m in again.json()} == {first.json()["id"]}
        assert len(await api.ok("GET", path, api.service)) == 1

    async def test_a_batch_mixing_new_repeated_and_unkeyed_messages_keeps_its_order(
        self, api: Api, client
    ) -> None:
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        stored = {"role": "user", "content": "stored", "dedup_key": unique("k")}
        first = (await client.post(path, json=stored, headers=api.service)).json()
        fresh = {"role": "assistant", "content": "fresh", "dedup_key": unique("k")}
        plain = {"role": "user", "content": "plain"}
        batch = {"messages": [plain, stored, fresh, fresh, {**plain, "content": "plain 2"}]}
        answer = await client.post(path, json=batch, headers=api.service)
        assert answer.status_code == 201
        got = answer.json()
        assert [m["content"] for m in got] == ["plain", "stored", "fresh", "fresh", "plain 2"]
        assert got[1]["id"] == first["id"] and got[2]["id"] == got[3]["id"]
        assert got[0]["id"] < got[2]["id"] < got[4]["id"]
        assert len(await api.ok("GET", path, api.service)) == 4

    async def test_recent_keeps_the_newest_within_count_and_characters(
        self, api: Api, client
    ) -> None:
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        texts = [f"message {i} " + "x" * 20 for i in range(6)]
        await client.post(
            path,
            json={"messages": [{"role": "user", "content": t} for t in texts]},
            headers=api.service,
        )
        by_count = await api.ok("GET", f"{path}/recent", api.service, params={"limit": 3})
        assert [m["content"] for m in by_count] == texts[3:]
        by_chars = await api.ok(
            "GET", f"{path}/recent", api.service, params={"limit": 10, "max_chars": 65}
        )
        assert [m["content"] for m in by_chars] == texts[4:]

    async def test_recent_never_starts_with_an_orphan_tool_result(self, api: Api, client) -> None:
        thread = await api.thread(unique("u"))
        path = f"/api/threads/{thread['thread_id']}/messages"
        calls = [{"id": "c", "type": "function", "function": {"name": "time", "arguments": "{}"}}]
        await client.post(
            path,
            json={
                "messages": [
                    {"role": "user", "content": "time?"},
                    {"role": "assistant", "tool_calls": calls},
                    {"role": "tool", "content": "12:00", "tool_call_id": "c"},
                    {"role": "assistant", "content": "Noon."},
                ]
            },
            headers=api.service,
        )
        window = await api.ok("GET", f"{path}/recent", api.service, params={"limit": 2})
        assert [m["role"] for m in window] == ["assistant"]

    async def test_unknown_thread_is_404(self, client, service) -> None:
        for method, suffix, body in (
            ("POST", "", {"role": "user", "content": "x"}),
            ("GET", "", None),
            ("GET", "/recent", None),
        ):
            response = await client.request(
                method, f"/api/threads/thread_nope/messages{suffix}", json=body, headers=service
            )
            assert_error(response, 404)

    async def test_unknown_author_user_is_404(self, api: Api, client) -> None:
        thread = await api.thread(unique("u"))
        body = {"role": "user", "content": "x", "user_id": MISSING}
        assert_error(
            await client.post(
                f"/api/threads/{thread['thread_id']}/messages", json=body, headers=api.service
            ),
            404,
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"role": "robot", "content": "x"},
            {"role": "user"},
            {"role": "user", "content": "nul\x00"},
            {"role": "user", "content": "x", "tokens_in": -1},
            {"messages": []},
            {"role": "user", "content": "x", "tool_calls": [{"a": "\x00"}]},
        ],
    )
    async def test_invalid_is_422(self, api: Api, client, body: dict) -> None:
        thread = await api.thread(unique("u"))
        response = await client.post(
            f"/api/threads/{thread['thread_id']}/messages", json=body, headers=api.service
        )
        assert_error(response, 422, "validation_error")


class TestSearch:
    async def _conversation(self, api: Api) -> tuple[str, str]:
        conversation = unique("u")
        thread = await api.thread(conversation)
        return conversation, thread["thread_id"]

    async def search(self, api: Api, conversation: str, q: str, **params) -> list[dict]:
        return await api.ok(
            "GET",
            "/api/messages/search",
            api.service,
            params={"user_id": conversation, "q": q, **params},
        )

    async def test_finds_an_old_message_by_a_word_in_english_and_russian(self, api: Api) -> None:
        conversation, thread_id = await self._conversation(api)
        english = await api.say(thread_id, "My dentist appointments are on Tuesdays")
        russian = await api.say(thread_id, "Завтра встреча с бухгалтером насчёт налогов")
        for i in range(5):
            await api.say(thread_id, f"small talk number {i}", role="assistant")
        hits = await self.search(api, conversation, "when is the appointment")
        assert hits[0]["id"] == english["id"] and hits[0]["rank"] > 0
        hits = await self.search(api, conversation, "что там с бухгалтер")
        assert [h["id"] for h in hits] == [russian["id"]]
        hits = await self.search(api, conversation, "встречи")
        assert [h["id"] for h in hits] == [russian["id"]]

    async def test_never_finds_another_conversations_messages(self, api: Api) -> None:
        mine, _ = await self._conversation(api)
        theirs, their_thread = await self._conversation(api)
        word = f"zebra{uuid.uuid4().hex[:6]}"
        await api.say(their_thread, f"the {word} password is 1234")
        assert await self.search(api, mine, word) == []
        assert len(await self.search(api, theirs, word)) == 1

    async def test_old_threads_count_and_before_leaves_out_the_recent_window(
        self, api: Api
    ) -> None:
        conversation, thread_id = await self._conversation(api)
        old = await api.say(thread_id, "the wifi password is pelican")
        await api.ok("POST", "/api/threads/reset", api.service, json={"user_id": conversation})
        new_thread = (
            await api.ok("GET", "/api/threads/", api.service, params={"user_id": conversation})
        )[0]
        recent = await api.say(new_thread["thread_id"], "what is the wifi password?")
        hits = await self.search(api, conversation, "wifi password")
        assert [h["id"] for h in hits] == [recent["id"], old["id"]] or {h["id"] for h in hits} == {
            recent["id"],
            old["id"],
        }
        hits = await self.search(api, conversation, "wifi password", before_id=recent["id"])
        assert [h["id"] for h in hits] == [old["id"]]
        hits = await self.search(api, conversation, "wifi", before=recent["created_at"])
        assert [h["id"] for h in hits] == [old["id"]]

    async def test_any_ranks_more_shared_words_first_and_all_needs_every_word(
        self, api: Api
    ) -> None:
        conversation, thread_id = await self._conversation(api)
        both = await api.say(thread_id, "red apples and green pears")
        one = await api.say(thread_id, "red cars")
        hits = await self.search(api, conversation, "red pears")
        assert [h["id"] for h in hits] == [both["id"], one["id"]]
        hits = await self.search(api, conversation, "red pears", match="all")
        assert [h["id"] for h in hits] == [both["id"]]

    async def test_ranks_only_the_newest_matches_of_a_long_conversation(self, api: Api) -> None:
        conversation, thread_id = await self._conversation(api)
        oldest = await api.say(thread_id, "red apples and green pears")
        for first in range(0, SEARCH_DEPTH, 100):
            batch = [{"role": "user", "content": f"red car {first + i}"} for i in range(100)]
            await api.ok(
                "POST",
                f"/api/threads/{thread_id}/messages",
                api.service,
                json={"messages": batch},
            )
        newest = await api.say(thread_id, "green pears again")
        hits = await self.search(api, conversation, "red pears", limit=5)
        assert hits[0]["id"] == newest["id"]
        assert oldest["id"] not in {h["id"] for h in hits}  # beyond the newest 1000 matches

    @pytest.mark.parametrize("q", ["", "!!!", "the of and", "a & b | c ! ( :*"])
    async def test_queries_without_words_or_with_operators_are_safe(self, api: Api, q: str) -> None:
        conversation, thread_id = await self._conversation(api)
        await api.say(thread_id, "something")
        for match in ("any", "all"):
            assert isinstance(await self.search(api, conversation, q, match=match), list)

    async def test_invalid_is_422(self, client: httpx.AsyncClient, service) -> None:
        for params in (
            {"q": "x"},
            {"user_id": "u"},
            {"user_id": "u", "q": "x", "limit": 0},
            {"user_id": "u", "q": "x", "before": "2020-01-01T00:00:00"},
        ):
            assert_error(
                await client.get("/api/messages/search", params=params, headers=service),  # type: ignore[arg-type]
                422,
            )


class TestTurnContext:
    """`POST /api/threads/context`: thread, profile, window and memory in one request."""

    async def context(self, api: Api, **body: Any) -> dict[str, Any]:
        return await api.ok("POST", "/api/threads/context", api.service, json=body)

    async def test_matches_the_separate_calls(self, api: Api) -> None:
        user = await api.user()
        assistant = await api.assistant()
        conversation = user["id"]
        thread = await api.thread(conversation, assistant["id"])
        old = await api.say(thread["thread_id"], "my cat is called Tigger")
        for i in range(4):
            await api.say(thread["thread_id"], f"chatter {i}", role="assistant")
        found = await self.context(
            api,
            user_id=conversation,
            assistant_id=assistant["id"],
            profile_id=user["id"],
            limit=3,
            memory={"q": "what is my cat called"},
        )
        recent = await api.ok(
            "GET",
            f"/api/threads/{thread['thread_id']}/messages/recent",
            api.service,
            params={"limit": 3},
        )
        assert found["thread"]["thread_id"] == thread["thread_id"]
        assert found["profile"] == user
        assert found["recent"] == recent
        assert [hit["id"] for hit in found["memory"]] == [old["id"]]

    async def test_memory_with_all_words_finds_only_messages_with_each_and_no_words_finds_none(
        self, api: Api
    ) -> None:
        assistant = await api.assistant()
        conversation = unique("chat")
        thread = await api.thread(conversation, assistant["id"])
        both = await api.say(thread["thread_id"], "the cat sat on the mat")
        await api.say(thread["thread_id"], "a cat without a rug")
        for i in range(3):
            await api.say(thread["thread_id"], f"chatter {i}", role="assistant")
        body = {"user_id": conversation, "assistant_id": assistant["id"], "limit": 2}
        every = await self.context(api, **body, memory={"q": "cat mat", "match": "all"})
        assert [hit["id"] for hit in every["memory"]] == [both["id"]]
        nothing = await self.context(api, **body, memory={"q": "?! ... --"})
        assert nothing["memory"] == []

    async def test_every_part_matches_its_own_route_exactly(self, api: Api) -> None:
        """The context is built as JSON from rows, not through the models: each part must
        stay what its own route answers (tool calls, memory ranks, facts included)."""
        user = await api.user()
        facts = f"/api/users/{user['id']}/facts"
        await api.ok("POST", facts, api.service, json={"text": "likes tea"})
        assistant = await api.assistant()
        thread = (await api.thread(user["id"], assistant["id"]))["thread_id"]
        await api.say(thread, "the cat sleeps on the mat")
        await api.say(thread, "the cat is black and the mat is red")
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        await api.say(thread, None, role="assistant", tool_calls=[call], tokens_in=3)
        await api.say(thread, "done", role="tool", tool_call_id="c1", name="f")
        await api.say(thread, "ok", role="assistant", model="m", latency_ms=7)
        found = await self.context(
            api,
            user_id=user["id"],
            assistant_id=assistant["id"],
            profile_id=user["id"],
            limit=3,
            memory={"q": "cat mat", "limit": 5},
            facts=True,
        )
        recent = f"/api/threads/{thread}/messages/recent"
        assert found["recent"] == await api.ok("GET", recent, api.service, params={"limit": 3})
        assert found["recent"][0]["tool_calls"] == [call]
        params = {"user_id": user["id"], "q": "cat mat", "before_id": found["recent"][0]["id"]}
        hits = await api.ok("GET", "/api/messages/search", api.service, params=params)
        assert len(hits) == 2 and found["memory"] == hits
        assert found["facts"] == await api.ok("GET", facts, api.service)
        assert found["thread"] == await api.ok("GET", f"/api/threads/{thread}", api.service)
        for max_chars in (0, 3, 40, 1000):
            window = {"limit": 10, "max_chars": max_chars}
            found = await self.context(
                api, user_id=user["id"], assistant_id=assistant["id"], **window
            )
            assert found["recent"] == await api.ok("GET", recent, api.service, params=window)

    async def test_the_profile_and_its_facts_come_in_one_statement(
        self, api: Api, app: FastAPI
    ) -> None:
        """The busiest request: each Postgres round trip wakes a backend."""
        user = await api.user()
        facts = f"/api/users/{user['id']}/facts"
        for text in ("likes tea", "has a cat", "works nights"):
            await api.ok("POST", facts, api.service, json={"text": text})
        assistant = await api.assistant()
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = STATE.of_app(app).engine.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            body = {"user_id": user["id"], "assistant_id": assistant["id"]}
            found = await self.context(api, **body, profile_id=user["id"], facts=True)
            without = await self.context(api, **body, profile_id=user["id"])
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert found["profile"] == without["profile"] == user
        assert found["facts"] == await api.ok("GET", facts, api.service)
        assert [fact["text"] for fact in found["facts"]] == [
            "likes tea",
            "has a cat",
            "works nights",
        ]
        assert without["facts"] == []
        profile_reads = [s for s in statements if "profile_facts" in s or "FROM users" in s]
        assert len(profile_reads) == 2, profile_reads  # one per request

    @PROPERTY
    @given(texts=st.lists(st.one_of(st.sampled_from(FACTS_PEOPLE_WRITE), st.text()), max_size=4))
    async def test_any_facts_come_back_as_their_own_route_gives_them(
        self, api: Api, texts: list[str]
    ) -> None:
        """The facts now ride on the profile's row: whatever people store (scripts, emoji,
        quotes, the longest allowed) comes back exactly, in the route's order."""
        user = await api.user()
        path = f"/api/users/{user['id']}/facts"
        for text in texts:
            await api.http.post(path, json={"text": text}, headers=api.service)
        assistant = await api.assistant()
        found = await self.context(
            api, user_id=user["id"], assistant_id=assistant["id"], profile_id=user["id"], facts=True
        )
        assert found["profile"] == user
        assert found["facts"] == await api.ok("GET", path, api.service)
        stored = {" ".join(t.split()) for t in texts if acceptable({"text": t})}
        assert {fact["text"] for fact in found["facts"]} == stored

    async def test_a_missing_profile_is_null_with_no_facts(self, api: Api) -> None:
        assistant = await api.assistant()
        found = await self.context(
            api, user_id=unique("u"), assistant_id=assistant["id"], profile_id=MISSING, facts=True
        )
        assert (found["profile"], found["facts"]) == (None, [])
        assert found["thread"]["thread_id"].startswith("thread_")

    async def test_makes_the_thread_and_leaves_out_memory_unless_asked(self, api: Api) -> None:
        assistant = await api.assistant()
        found = await self.context(api, user_id=unique("u"), assistant_id=assistant["id"])
        assert found["thread"]["thread_id"].startswith("thread_")
        assert (found["profile"], found["recent"], found["memory"]) == (None, [], [])

    async def test_a_blocked_profile_gets_no_thread(self, api: Api) -> None:
        user = await api.user()
        await api.ok("PUT", f"/api/users/{user['id']}", api.service, json={"blocked": True})
        assistant = await api.assistant()
        found = await self.context(
            api, user_id=user["id"], assistant_id=assistant["id"], profile_id=user["id"]
        )
        assert found["thread"] is None and found["profile"]["blocked"] is True
        listed = await api.ok("GET", "/api/threads/", api.service, params={"user_id": user["id"]})
        assert listed == []

    async def test_a_missing_assistant_is_404(self, client, service) -> None:
        body = {"user_id": "u", "assistant_id": MISSING}
        response = await client.post("/api/threads/context", json=body, headers=service)
        assert "assistant" in assert_error(response, 404)["detail"]
