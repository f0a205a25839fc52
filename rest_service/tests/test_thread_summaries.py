"""A thread's running summary: its backlog (what it does not cover yet, older than the
window), the conditional replace that keeps two writers from overwriting each other, the
turn's context carrying it, and /forget taking it with the conversation."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rest_service.app.models.thread_summary import SUMMARY_MAX_CHARS
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_profile_facts import PROPERTY


async def conversation(api: Api, count: int) -> tuple[dict[str, Any], list[int]]:
    """A thread of `count` messages; their ids, oldest first."""
    thread = await api.thread(unique("u"))
    ids = [(await api.say(thread["thread_id"], f"message {i}"))["id"] for i in range(count)]
    return thread, ids


async def write(api: Api, thread_id: str, **body: Any) -> Any:
    return await api.http.put(f"/api/threads/{thread_id}/summary", json=body, headers=api.service)


async def replace(api: Api, thread_id: str, content: str, covers: int, previous: int) -> Any:
    """A summary made from the stored one that covers up to `previous`."""
    return await write(
        api,
        thread_id,
        content=content,
        covers_message_id=covers,
        previous_covers_message_id=previous,
    )


async def backlog(api: Api, thread_id: str, **params: Any) -> dict[str, Any]:
    path = f"/api/threads/{thread_id}/summary/backlog"
    return await api.ok("GET", path, api.service, params=params)


class TestBacklog:
    async def test_without_a_summary_it_is_every_message_older_than_the_window(
        self, api: Api
    ) -> None:
        thread, ids = await conversation(api, 6)
        found = await backlog(api, thread["thread_id"], before_id=ids[4])
        assert found["summary"] is None
        assert [m["id"] for m in found["messages"]] == ids[:4]

    async def test_after_a_summary_it_starts_past_what_it_covers(self, api: Api) -> None:
        thread, ids = await conversation(api, 6)
        made = await write(api, thread["thread_id"], content="notes", covers_message_id=ids[1])
        assert made.status_code == 200
        found = await backlog(api, thread["thread_id"], before_id=ids[5], limit=2)
        assert found["summary"]["content"] == "notes"
        assert [m["id"] for m in found["messages"]] == ids[2:4]
        assert [m["id"] for m in (await backlog(api, thread["thread_id"]))["messages"]] == ids[2:]

    async def test_an_unknown_thread_is_404(self, api: Api) -> None:
        missing = await api.http.get("/api/threads/nope/summary/backlog", headers=api.service)
        assert_error(missing, 404)
        assert_error(await write(api, "nope", content="x", covers_message_id=1), 404)


class TestConditionalReplace:
    async def test_a_summary_replaces_the_one_it_was_made_from(self, api: Api) -> None:
        thread, ids = await conversation(api, 4)
        key = thread["thread_id"]
        await write(api, key, content="first", covers_message_id=ids[0])
        again = await replace(api, key, "second", ids[2], ids[0])
        assert again.status_code == 200
        assert again.json()["content"] == "second"
        assert again.json()["covers_message_id"] == ids[2]
        assert again.json()["conversation_key"] == thread["user_id"]

    async def test_a_writer_that_was_not_first_is_refused_and_the_stored_one_stays(
        self, api: Api
    ) -> None:
        thread, ids = await conversation(api, 4)
        key = thread["thread_id"]
        await write(api, key, content="first", covers_message_id=ids[0])
        # Both read "first"; the one that writes second is refused.
        won = await replace(api, key, "winner", ids[2], ids[0])
        lost = await replace(api, key, "loser", ids[3], ids[0])
        late_first = await write(api, key, content="another first", covers_message_id=ids[1])
        assert won.status_code == 200
        assert_error(lost, 409)
        assert_error(late_first, 409)
        assert (await backlog(api, key))["summary"]["content"] == "winner"

    async def test_a_summary_must_cover_newer_messages_than_the_one_it_replaces(
        self, api: Api
    ) -> None:
        thread, ids = await conversation(api, 2)
        key = thread["thread_id"]
        await write(api, key, content="first", covers_message_id=ids[1])
        older = await replace(api, key, "x", ids[0], ids[1])
        assert_error(older, 409)

    @PROPERTY
    @given(
        body=st.fixed_dictionaries(
            {},
            optional={
                "content": st.one_of(st.none(), st.integers(), st.text(max_size=30)),
                "covers_message_id": st.one_of(
                    st.none(), st.text(max_size=5), st.integers(-(2**70), 2**70)
                ),
                "previous_covers_message_id": st.one_of(
                    st.text(max_size=5), st.integers(-(2**70), 2**70)
                ),
            },
        )
    )
    async def test_any_body_is_stored_refused_or_a_conflict_never_a_crash(
        self, api: Api, body: dict[str, Any]
    ) -> None:
        thread = await api.thread(unique("u"))
        response = await write(api, thread["thread_id"], **body)
        assert response.status_code in (200, 409, 422), response.text

    async def test_too_long_or_empty_is_refused(self, api: Api) -> None:
        thread, ids = await conversation(api, 1)
        key = thread["thread_id"]
        for content in ("", "x" * (SUMMARY_MAX_CHARS + 1), "a\x00b"):
            response = await write(api, key, content=content, covers_message_id=ids[0])
            assert assert_error(response, 422)["fields"][0]["field"] == "content"


class TestWhereItGoes:
    async def test_the_turn_context_carries_the_summary(self, api: Api) -> None:
        thread, ids = await conversation(api, 3)
        body = {"user_id": thread["user_id"], "assistant_id": thread["assistant_id"], "limit": 1}
        before = await api.ok("POST", "/api/threads/context", api.service, json=body)
        assert before["summary"] is None
        await write(api, thread["thread_id"], content="locker 4711", covers_message_id=ids[1])
        after = await api.ok("POST", "/api/threads/context", api.service, json=body)
        assert after["summary"]["content"] == "locker 4711"
        assert after["summary"]["covers_message_id"] == ids[1]
        assert [m["id"] for m in after["recent"]] == ids[2:]

    async def test_reset_starts_a_thread_without_a_summary(self, api: Api) -> None:
        thread, ids = await conversation(api, 2)
        await write(api, thread["thread_id"], content="old notes", covers_message_id=ids[1])
        reset = {"user_id": thread["user_id"], "assistant_id": thread["assistant_id"]}
        await api.ok("POST", "/api/threads/reset", api.service, json=reset)

        context = await api.ok("POST", "/api/threads/context", api.service, json=reset)

        assert context["thread"]["thread_id"] != thread["thread_id"]
        assert context["summary"] is None and context["recent"] == []

    async def test_forget_deletes_the_summaries_of_their_conversations_and_groups(
        self, api: Api
    ) -> None:
        user = await api.user()
        assistant = await api.assistant()
        private = await api.thread(user["id"], assistant["id"])
        group = await api.thread(unique("chat:-100"), assistant["id"])
        other = await api.thread(unique("u"), assistant["id"])
        for thread in (private, group, other):
            said = await api.say(thread["thread_id"], "hello", user_id=user["id"])
            await write(api, thread["thread_id"], content="notes", covers_message_id=said["id"])
        other_said = await api.say(other["thread_id"], "mine")

        forgotten = await api.http.delete(f"/api/users/{user['id']}", headers=api.service)

        assert forgotten.status_code == 204
        gone = await backlog(api, group["thread_id"])
        assert gone["summary"] is None
        # A thread they only wrote in loses its summary too; what others said stays.
        assert [m["id"] for m in (await backlog(api, other["thread_id"]))["messages"]] == [
            other_said["id"]
        ]
        missing = await api.http.get(
            f"/api/threads/{private['thread_id']}/summary/backlog", headers=api.service
        )
        assert_error(missing, 404)
