"""The admin's own pages over HTTP (in process), where the browser tests do not reach without
Chromium: the change history's filters and its dead-letter lines, a refused revert, purging
dead letters and Redis not answering, a user's page and its actions, and finding
conversations by id, name, group key or text."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.infrastructure.redis_keys import TO_SECRETARY, Names
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, login
from tests.streams import Fields, raw


@pytest.fixture
async def admin_http(client: httpx.AsyncClient, secrets: dict[str, str]) -> httpx.AsyncClient:
    await login(client, secrets["ADMIN_API_TOKEN"])
    return client


def element(page: str, element_id: str) -> str:
    """The text of the element with this id (up to its closing tag)."""
    start = page.index(f'id="{element_id}"')
    return page[page.index(">", start) + 1 : page.index("</", start)]


class TestHistory:
    async def test_the_history_is_filtered_by_object_kind_and_admin(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        only_tools = (await admin_http.get("/admin/history?entity=tool")).text
        assert tool["name"] in only_tools and assistant["name"] not in only_tools
        by_token = (await admin_http.get("/admin/history?actor=admin-token")).text
        assert tool["name"] in by_token and assistant["name"] in by_token
        nobody = (await admin_http.get("/admin/history?actor=admin:nobody")).text
        assert tool["name"] not in nobody

    async def test_a_link_reads_as_its_pair_by_name(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        await api.link(assistant["id"], tool["id"])
        page = (await admin_http.get("/admin/history?entity=link")).text
        assert f"{assistant['name']} → {tool['name']}" in page

    async def test_an_unknown_kind_or_a_malformed_id_shows_everything(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        assistant = await api.assistant()
        page = await admin_http.get("/admin/history?entity=spaceship&entity_id=not-a-uuid")
        assert page.status_code == 200 and assistant["name"] in page.text

    @pytest.mark.parametrize("change_id", ["987654321", "99999999999999999999"])
    async def test_a_revert_that_cannot_be_done_says_why_on_the_history_page(
        self, admin_http: httpx.AsyncClient, change_id: str
    ) -> None:
        """Past bigint too: the database refused the number itself, which was a 500."""
        response = await admin_http.post(f"/admin/history/{change_id}/revert", headers=ORIGIN)
        assert response.status_code == 303
        shown = await admin_http.get(response.headers["location"])
        error = element(shown.text, "history-error")
        assert error == f"revert of change {change_id}: change {change_id} not found"


async def dead_letter(redis: aioredis.Redis, names: Names, error: str) -> str:
    data = json.dumps({"message_id": str(uuid.uuid4()), "chat_id": 1, "text": "hi"})
    fields: Fields = {"data": data, "stream": TO_SECRETARY, "error": error, "attempts": "5"}
    return raw(await redis.xadd(names.dead(TO_SECRETARY), fields)).decode()


class TestDeadLetters:
    async def test_a_purge_empties_them_and_the_history_lists_what_went(
        self, admin_http: httpx.AsyncClient, redis: aioredis.Redis, names: Names
    ) -> None:
        await dead_letter(redis, names, "the LLM said no")
        await dead_letter(redis, names, "timed out")
        purged = await admin_http.post("/admin/dead-letters-purge", headers=ORIGIN)
        assert purged.status_code == 303
        page = (await admin_http.get(purged.headers["location"])).text
        assert element(page, "dlq-purged") == "Purged 2 dead letter(s)."
        assert await redis.xlen(names.dead(TO_SECRETARY)) == 0
        history = (await admin_http.get("/admin/history?entity=dead_letter")).text
        assert "2 entries" in history and "purged" in history

    async def test_a_replay_is_a_line_in_the_history_with_the_error_it_had(
        self, admin_http: httpx.AsyncClient, redis: aioredis.Redis, names: Names
    ) -> None:
        entry_id = await dead_letter(redis, names, "the LLM said no")
        replayed = await admin_http.post(f"/admin/dead-letters/{entry_id}/replay", headers=ORIGIN)
        assert replayed.status_code == 303 and "replayed=" in replayed.headers["location"]
        history = (await admin_http.get("/admin/history?entity=dead_letter")).text
        assert entry_id in history and "the LLM said no" in history
        assert TO_SECRETARY in history

    async def test_a_dead_letter_whose_data_is_not_json_is_shown_as_it_is(
        self, admin_http: httpx.AsyncClient, redis: aioredis.Redis, names: Names
    ) -> None:
        fields: Fields = {"data": "{half a message", "stream": TO_SECRETARY, "error": "bad json"}
        entry_id = raw(await redis.xadd(names.dead(TO_SECRETARY), fields)).decode()
        page = (await admin_http.get(f"/admin/dead-letters/{entry_id}")).text
        assert "&#34;data&#34;: &#34;{half a message&#34;" in page
        assert "dlq-error" not in page

    async def test_an_unknown_dead_letter_is_named_on_the_page(
        self, admin_http: httpx.AsyncClient
    ) -> None:
        page = (await admin_http.get("/admin/dead-letters/1-0")).text
        assert "no dead letter 1-0" in element(page, "dlq-error")

    async def test_without_redis_the_page_says_so_and_nothing_is_done(
        self, admin_http: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = app.state.app_state.settings
        monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:1/0")
        page = (await admin_http.get("/admin/dead-letters")).text
        assert element(page, "dlq-error").startswith("Redis did not answer: ConnectionError")
        purged = await admin_http.post("/admin/dead-letters-purge", headers=ORIGIN)
        assert "error=purge" in purged.headers["location"]
        replayed = await admin_http.post("/admin/dead-letters/1-0/replay", headers=ORIGIN)
        assert "error=replay+of+1-0" in replayed.headers["location"]
        history = (await admin_http.get("/admin/history?entity=dead_letter")).text
        assert "purged" not in history and "replayed" not in history


class TestUserPage:
    async def test_a_user_page_shows_reminders_and_the_calendar_then_disconnects_it(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        await api.job(name="water the plants", user_id=user["id"])
        secret = f"ya29.{uuid.uuid4().hex}"
        credentials = {"credentials": {"token": secret, "refresh_token": "r"}}
        path = f"/api/users/{user['id']}/calendar-credentials"
        await api.ok("PUT", path, api.service, json=credentials)

        page = (await admin_http.get(f"/admin/users/{user['id']}")).text
        assert "water the plants" in page[page.index('id="user-jobs"') :]
        assert element(page, "calendar-state") == "connected" and secret not in page

        url = f"/admin/users/{user['id']}/disconnect-calendar"
        done = await admin_http.post(url, headers=ORIGIN)
        page = (await admin_http.get(done.headers["location"])).text
        assert element(page, "user-done") == "The calendar is disconnected."
        assert element(page, "calendar-state") == "not connected"
        again = await admin_http.post(url, headers=ORIGIN)
        page = (await admin_http.get(again.headers["location"])).text
        assert "not found" in element(page, "user-error")

    async def test_forget_deletes_the_user_and_returns_to_the_list(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        forgot = await admin_http.post(f"/admin/users/{user['id']}/forget", headers=ORIGIN)
        assert forgot.status_code == 303 and forgot.headers["location"].endswith("/user/list")
        response = await api.http.get(f"/api/users/{user['id']}", headers=api.service)
        assert response.status_code == 404
        again = await admin_http.get(f"/admin/users/{user['id']}")
        assert again.status_code == 303 and again.headers["location"].endswith("/user/list")


class TestConversations:
    async def test_a_user_is_found_by_id_or_by_name_with_their_groups(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user(username="zoe")
        private = await api.thread(user["id"])
        await api.say(private["thread_id"], "hello from private", user_id=user["id"])
        group = await api.thread("chat:-100123")
        await api.say(group["thread_id"], "hello from the group", user_id=user["id"])
        for query in (user["id"], "@zoe", "zoe"):
            page = (await admin_http.get(f"/admin/conversations?user={query}")).text
            assert private["thread_id"] in page and group["thread_id"] in page, query

    async def test_a_group_is_found_by_its_key_and_a_text_by_its_words(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        group = await api.thread("chat:-100777")
        await api.say(group["thread_id"], "the 100%_literal words")
        page = (await admin_http.get("/admin/conversations?user=chat:-100777")).text
        assert group["thread_id"] in page
        found = (await admin_http.get("/admin/conversations?q=100%25_lit")).text
        assert "the 100%_literal words" in found and "group chat:-100777" in found
        missed = (await admin_http.get("/admin/conversations?q=100%25xlit")).text
        assert "the 100%_literal words" not in missed

    async def test_a_tool_card_holds_its_result_and_the_answer_is_formatted_never_obeyed(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        thread = (await api.thread(user["id"]))["thread_id"]
        await api.say(thread, "weather?", user_id=user["id"])
        call = {"id": "call_7", "type": "function", "function": {"name": "weather"}}
        await api.say(thread, None, role="assistant", tool_calls=[call])
        result = '{"celsius": 21}'
        await api.say(thread, result, role="tool", tool_call_id="call_7", latency_ms=345)
        answer = "It is **warm**. <script>alert(1)</script>"
        await api.say(thread, answer, role="assistant")

        page = (await admin_http.get(f"/admin/conversations?thread={thread}")).text
        card = page[page.index('class="card tool-card') :]
        assert '<b class="tool-card-name">weather</b>' in card and "· 345 ms" in card
        assert "{\n  &#34;celsius&#34;: 21\n}" in card
        assert "(the result of a tool call above)" in page
        assert "<strong>warm</strong>" in page and "<script>alert(1)" not in page
        recent = (await admin_http.get("/admin/conversations")).text
        assert "It is **warm**." in recent  # the list shows each thread's newest message

    async def test_a_thread_that_ended_on_tool_calls_lists_their_names(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        thread = (await api.thread((await api.user())["id"]))["thread_id"]
        calls = [
            {"id": "c1", "type": "function", "function": {"name": "weather"}},
            {"id": "c2", "type": "function", "function": {"arguments": {"zone": "UTC"}}},
        ]
        await api.say(thread, None, role="assistant", tool_calls=calls)
        recent = (await admin_http.get("/admin/conversations")).text
        assert "(calls weather, ?)" in recent
        page = (await admin_http.get(f"/admin/conversations?thread={thread}")).text
        assert "{\n  &#34;zone&#34;: &#34;UTC&#34;\n}" in page  # arguments as an object

    async def test_a_thread_shows_the_assistant_s_running_summary_as_text(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        thread = (await api.thread((await api.user())["id"]))["thread_id"]
        said = await api.say(thread, "my locker code is 4711")
        plain = (await admin_http.get(f"/admin/conversations?thread={thread}")).text
        assert 'id="thread-summary"' not in plain
        notes = "Locker code 4711. <b>not markup</b>"
        body = {"content": notes, "covers_message_id": said["id"]}
        await api.ok("PUT", f"/api/threads/{thread}/summary", api.service, json=body)

        page = (await admin_http.get(f"/admin/conversations?thread={thread}")).text

        shown = page[page.index('id="thread-summary"') :]
        assert f"up to #{said['id']}" in shown
        assert "Locker code 4711. &lt;b&gt;not markup&lt;/b&gt;" in shown

    async def test_an_unknown_user_finds_nothing(self, admin_http: httpx.AsyncClient) -> None:
        unknown = uuid.uuid4()
        page = (await admin_http.get(f"/admin/conversations?user={unknown}")).text
        assert f"No conversations found for “{unknown}”" in page


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.text(max_size=24) | st.sampled_from(["12³", "@", "chat:", "٣٤"]))
@example(query="²")
@example(query="a\x00b")
async def test_any_search_text_gets_a_page_never_a_500(
    admin_http: httpx.AsyncClient, query: str
) -> None:
    """Superscript digits count as digits to `str.isdigit` but not to `int`; Postgres text
    cannot hold NUL, so a search for one is refused before it reaches the database."""
    searches = [
        ("/admin/conversations", {"user": query}),
        ("/admin/conversations", {"q": query}),
        ("/admin/dead-letters", {"purged": query}),
        ("/admin/history", {"actor": query}),
        ("/admin/user/list", {"search": query}),
    ]
    for path, params in searches:
        response = await admin_http.get(path, params=params)
        if "\x00" in query:
            assert response.status_code == 400 and "NUL" in response.text, params
        else:
            assert response.status_code == 200, (params, response.text[-300:])


class TestAnalytics:
    async def test_days_out_of_range_or_not_a_number_are_bounded(
        self, admin_http: httpx.AsyncClient
    ) -> None:
        for asked, used in (("abc", 30), ("0", 1), ("999999", 3650)):
            page = (await admin_http.get(f"/admin/analytics?days={asked}")).text
            assert f'name="days" min="1" max="3650" value="{used}"' in page, asked


class TestUserWithoutTelegram:
    async def test_the_user_list_and_page_show_a_person_without_telegram(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        """A WhatsApp-only person (decision 0054): no Telegram id, named by their id."""
        body = {"channel": "whatsapp", "external_id": "4915112345678"}
        user = await api.ok("POST", "/api/users/by-identity", api.service, json=body)
        page = await admin_http.get(f"/admin/users/{user['id']}")
        assert page.status_code == 200 and "no Telegram" in page.text
        listing = await admin_http.get("/admin/user/list")
        assert listing.status_code == 200 and f"/admin/users/{user['id']}" in listing.text
