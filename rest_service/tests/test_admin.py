"""The web admin over HTTP (in process): login and the session cookie, the same-origin
check, writes through the service layer (version, history, `config:updated`), revert, the
analytics and conversation pages. The browser tests drive the same pages in Chromium."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.requests import Request

from common.infrastructure.redis_keys import Names
from rest_service.app.admin.auth import NotLoggedIn, _same_origin, current_admin
from rest_service.app.admin.headers import SecurityHeadersMiddleware
from rest_service.tests.conftest import Api, unique

ORIGIN = {"Origin": "http://rest"}


async def login(client: httpx.AsyncClient, password: str, username: str = "ops") -> None:
    response = await client.post(
        "/admin/login", data={"username": username, "password": password}, headers=ORIGIN
    )
    assert response.status_code == 302, response.text


@pytest.fixture
async def logged_in(client: httpx.AsyncClient, secrets: dict[str, str]) -> httpx.AsyncClient:
    await login(client, secrets["ADMIN_API_TOKEN"])
    return client


class TestLogin:
    @pytest.mark.parametrize(
        "path", ["/admin/", "/admin/assistant/list", "/admin/history", "/admin/analytics"]
    )
    async def test_anonymous_is_sent_to_login(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        assert response.status_code == 302
        assert response.headers["location"].endswith("/admin/login")

    async def test_wrong_password_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/admin/login", data={"username": "ops", "password": "nope"}, headers=ORIGIN
        )
        assert response.status_code == 400
        assert "smart_assistant_admin" not in response.headers.get("set-cookie", "")

    async def test_username_and_password_settings_log_in(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, app
    ) -> None:
        monkeypatch.setattr(app.state.app_state.settings, "admin_username", "boss")
        monkeypatch.setattr(app.state.app_state.settings, "admin_password", "s3cret-pass")
        await login(client, "s3cret-pass", username="boss")
        assert (await client.get("/admin/assistant/list")).status_code == 200

    async def test_session_cookie_is_httponly_and_samesite(
        self, client: httpx.AsyncClient, secrets: dict[str, str]
    ) -> None:
        response = await client.post(
            "/admin/login",
            data={"username": "ops", "password": secrets["ADMIN_API_TOKEN"]},
            headers=ORIGIN,
        )
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie

    async def test_logout_ends_the_session(self, logged_in: httpx.AsyncClient) -> None:
        assert (await logged_in.get("/admin/logout")).status_code == 302
        assert (await logged_in.get("/admin/assistant/list")).status_code == 302

    async def test_logging_out_twice_or_never_logged_in_just_goes_to_the_login(
        self, client: httpx.AsyncClient, secrets: dict[str, str]
    ) -> None:
        assert (await client.get("/admin/logout")).status_code == 302
        await login(client, secrets["ADMIN_API_TOKEN"])
        saved = httpx.Cookies(client.cookies)
        assert (await client.get("/admin/logout")).status_code == 302
        client.cookies = saved  # the ended session's cookie, once more
        again = await client.get("/admin/logout")
        assert again.status_code == 302 and again.headers["location"].endswith("/admin/login")

    async def test_cross_origin_post_is_refused(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        assistant = await api.assistant()
        response = await logged_in.post(
            f"/admin/assistant/edit/{assistant['id']}",
            data={"name": assistant["name"], "instructions": "evil"},
            headers={"Origin": "http://evil.example"},
        )
        assert response.status_code == 403
        body = await api.ok("GET", f"/api/assistants/{assistant['id']}", api.admin)
        assert body["instructions"] == "Be brief."


class TestSameOrigin:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Origin": "null"},
            {"Origin": "ftp://rest"},
            {"Origin": "http://rest.evil.example"},
            {"Referer": "http://evil.example/admin/"},
        ],
        ids=["neither", "null origin", "other scheme", "longer host", "foreign referer"],
    )
    async def test_a_post_not_from_this_site_is_refused(
        self, logged_in: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await logged_in.post("/admin/dead-letters-purge", headers=headers)
        assert response.status_code == 403
        assert response.text == "cross-origin request refused"

    async def test_a_post_whose_referer_is_this_site_is_let_through(
        self, logged_in: httpx.AsyncClient
    ) -> None:
        referer = {"Referer": "http://rest/admin/dead-letters"}
        response = await logged_in.post("/admin/dead-letters-purge", headers=referer)
        assert response.status_code == 303


#: Header values are Latin-1 on the wire.
_LATIN1 = st.text(st.characters(max_codepoint=255, exclude_categories=["Cs"]), max_size=30)
_SOURCES = st.one_of(
    _LATIN1,
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "ftp", "javascript", ""]),
        st.sampled_from(["rest", "REST", "rest.evil", "evil", "rest:80", "user@rest"]),
        _LATIN1,
    ),
)


@settings(max_examples=100, deadline=None)
@given(source=_SOURCES, as_referer=st.booleans())
def test_a_source_counts_as_this_site_only_if_it_is_an_http_url_of_this_host(
    source: str, as_referer: bool
) -> None:
    header = "referer" if as_referer else "origin"
    headers = Headers({"host": "rest", header: source} if source else {"host": "rest"})
    if _same_origin(headers):
        parts = urlsplit(source)
        assert parts.scheme in ("http", "https") and parts.netloc == "rest", source


async def test_a_websocket_passes_the_security_headers_untouched() -> None:
    """Only HTTP responses get headers (and a nonce); anything else goes straight through."""
    seen: list[dict] = []

    async def inner(scope, _receive, _send) -> None:
        seen.append(scope)

    scope = {"type": "websocket", "path": "/admin/x"}
    await SecurityHeadersMiddleware(inner)(scope, None, None)  # type: ignore[arg-type]
    assert seen == [{"type": "websocket", "path": "/admin/x"}]


def test_an_admin_action_without_a_session_is_refused() -> None:
    """A route that forgot its login check must not run as nobody."""
    with pytest.raises(NotLoggedIn):
        current_admin(Request({"type": "http", "state": {}}))


async def test_logout_without_redis_still_ends_the_browsers_session(
    logged_in: httpx.AsyncClient, app, caplog: pytest.LogCaptureFixture
) -> None:
    state = app.state.app_state
    live, dead = state.redis, aioredis.Redis.from_url("redis://127.0.0.1:1")
    state.redis = dead  # restored before the lifespan closes the live client
    try:
        response = await logged_in.get("/admin/logout")
    finally:
        state.redis = live
        await dead.aclose()
    assert response.status_code == 302
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]  # structlog's event dicts
    assert any(e["event"] == "admin_logout_failed" for e in events)
    assert (await logged_in.get("/admin/assistant/list")).status_code == 302


def assistant_form(assistant: dict, **changes: str) -> dict[str, str]:
    form = {
        "name": assistant["name"],
        "instructions": assistant["instructions"],
        "assistant_type": "llm",
        "model": "",
        "openai_assistant_id": "",
        "is_active": "y",
    }
    return {**form, **changes}


class TestWrites:
    async def test_edit_goes_through_the_service_layer(
        self, logged_in: httpx.AsyncClient, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        assistant = await api.assistant()
        before = await api.version()
        pubsub = redis.pubsub()
        await pubsub.subscribe(names.config_updated)
        await pubsub.get_message(timeout=1)
        response = await logged_in.post(
            f"/admin/assistant/edit/{assistant['id']}",
            data=assistant_form(assistant, instructions="Answer in haiku."),
            headers=ORIGIN,
        )
        assert response.status_code == 302, response.text
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=3)
        await pubsub.aclose()
        assert message is not None and int(message["data"]) == before + 1
        snapshot = await api.ok("GET", "/api/config", api.service)
        assert snapshot["version"] == before + 1
        changes = await api.ok("GET", f"/api/config/changes?entity_id={assistant['id']}", api.admin)
        assert changes[0]["actor"] == "api-token"  # the token login, whatever name is typed
        assert changes[0]["before"]["instructions"] == "Be brief."
        assert changes[0]["after"]["instructions"] == "Answer in haiku."

    async def test_pausing_a_reminder_publishes_cron_updated(
        self, logged_in: httpx.AsyncClient, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        job = await api.job(run_at=None)
        pubsub = redis.pubsub()
        await pubsub.subscribe(names.cron_updated)
        await pubsub.get_message(timeout=1)
        form = {
            "name": job["name"],
            "text": job["text"],
            "prompt": "",
            "cron_expression": job["cron_expression"],
            "run_at": "",
            "timezone": job["timezone"],
            "status": "paused",
        }
        response = await logged_in.post(
            f"/admin/cron-job/edit/{job['id']}", data=form, headers=ORIGIN
        )
        assert response.status_code == 302, response.text
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=3)
        await pubsub.aclose()
        assert message is not None and job["id"] in message["data"].decode()
        stored = await api.ok("GET", f"/api/cron-jobs/{job['id']}", api.service)
        assert stored["status"] == "paused" and stored["next_run_at"] is None

    async def test_tool_with_a_broken_schema_is_refused_with_the_reason(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        name = unique("tool")
        response = await logged_in.post(
            "/admin/tool/create",
            data={
                "name": name,
                "tool_type": "time",
                "description": "",
                "input_schema": '{"type": "object", "properties": 5}',
                "is_active": "y",
            },
            headers=ORIGIN,
        )
        assert response.status_code == 400
        assert "input_schema" in response.text
        assert name not in await api.names("/api/tools/")

    async def test_an_mcp_tool_is_made_with_its_server_config(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        form = {"tool_type": "mcp", "description": "", "input_schema": "{}", "is_active": "y"}
        page = await logged_in.get("/admin/tool/create")
        assert "MCP_STDIO_SERVERS" in page.text and "never a command" in page.text
        refused = await logged_in.post(
            "/admin/tool/create",
            data={**form, "name": unique("mcp"), "config": '{"transport": "stdio"}'},
            headers=ORIGIN,
        )
        assert refused.status_code == 400
        assert "config.server" in refused.text
        attack = {"transport": "stdio", "command": ["sh", "-c", "id"]}
        refused = await logged_in.post(
            "/admin/tool/create",
            data={**form, "name": unique("mcp"), "config": json.dumps(attack)},
            headers=ORIGIN,
        )
        assert refused.status_code == 400
        assert "config.command" in refused.text and "MCP_STDIO_SERVERS" in refused.text
        name, config = unique("mcp"), {"transport": "http", "url": "https://mcp.example.com/mcp"}
        made = await logged_in.post(
            "/admin/tool/create",
            data={**form, "name": name, "config": json.dumps(config)},
            headers=ORIGIN,
        )
        assert made.status_code == 302, made.text
        tools = await api.ok("GET", "/api/tools/?limit=1000", api.admin)
        assert [t["config"] for t in tools if t["name"] == name] == [config]

    async def test_provider_key_is_write_only(self, logged_in: httpx.AsyncClient, api: Api) -> None:
        name = unique("provider")
        response = await logged_in.post(
            "/admin/llm-provider/create",
            data={
                "name": name,
                "base_url": "http://llm.test/v1",
                "is_active": "y",
                "api_key": "sk-test-abcdefgh1234",
            },
            headers=ORIGIN,
        )
        assert response.status_code == 302, response.text
        listing = (await logged_in.get("/admin/llm-provider/list")).text
        assert name in listing and "sk-test-abcdefgh1234" not in listing
        providers = await api.ok("GET", "/api/llm-providers/?limit=1000", api.admin)
        (made,) = [p for p in providers if p["name"] == name]
        assert made["has_api_key"]
        details = (await logged_in.get(f"/admin/llm-provider/details/{made['id']}")).text
        assert "gAAAA" not in details  # no Fernet token either

    async def test_delete_of_a_referenced_assistant_shows_the_conflict(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        assistant = await api.assistant()
        await api.link(assistant["id"], (await api.tool())["id"])
        response = await logged_in.delete(
            f"/admin/assistant/delete?pks={assistant['id']}", headers=ORIGIN
        )
        assert "referenced" in response.text
        await api.ok("GET", f"/api/assistants/{assistant['id']}", api.admin)


class TestHistory:
    async def test_api_changes_are_recorded_and_revert_restores(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        assistant = await api.assistant()
        path = f"/api/assistants/{assistant['id']}"
        await api.ok("PUT", path, api.admin, json={"instructions": "Version two."})
        changes = await api.ok("GET", f"/api/config/changes?entity_id={assistant['id']}", api.admin)
        assert [c["action"] for c in changes] == ["updated", "created"]
        assert changes[0]["actor"] == "admin-token"
        page = (await logged_in.get(f"/admin/history?entity_id={assistant['id']}")).text
        assert "Version two." in page
        created_id = changes[1]["id"]
        response = await logged_in.post(f"/admin/history/{created_id}/revert", headers=ORIGIN)
        assert response.status_code == 303
        assert (await api.ok("GET", path, api.admin))["instructions"] == "Be brief."

    async def test_revert_through_the_api(self, api: Api) -> None:
        tool = await api.tool(description="first")
        await api.ok("PUT", f"/api/tools/{tool['id']}", api.admin, json={"description": "second"})
        changes = await api.ok("GET", f"/api/config/changes?entity_id={tool['id']}", api.admin)
        before = await api.version()
        await api.ok("POST", f"/api/config/changes/{changes[-1]['id']}/revert", api.admin)
        assert (await api.ok("GET", f"/api/tools/{tool['id']}", api.admin))[
            "description"
        ] == "first"
        assert await api.version() == before + 1

    async def test_an_import_is_recorded(self, api: Api) -> None:
        name = unique("imported")
        doc = {"format": 1, "assistants": [{"name": name, "instructions": "Imported."}]}
        await api.ok("POST", "/api/config/import", api.admin, json=doc)
        changes = await api.ok("GET", "/api/config/changes?entity=assistant", api.admin)
        mine = [c for c in changes if (c["after"] or {}).get("name") == name]
        assert [c["action"] for c in mine] == ["created"]
        assert mine[0]["version"] == await api.version()

    async def test_each_tracked_object_links_to_its_history(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        tool = await api.tool()
        response = await logged_in.get(f"/admin/tool/action/history?pks={tool['id']}")
        assert response.status_code == 303
        assert f"entity_id={tool['id']}" in response.headers["location"]

    async def test_history_is_admin_only(self, client: httpx.AsyncClient, api: Api) -> None:
        response = await client.get("/api/config/changes", headers=api.service)
        assert response.status_code == 403


class TestPages:
    async def test_every_page_in_the_menu_renders(self, logged_in: httpx.AsyncClient) -> None:
        index = (await logged_in.get("/admin/")).text
        links = sorted(set(re.findall(r'href="(?:http://rest)?(/admin/[a-z-]+(?:/list)?)"', index)))
        links = [link for link in links if link not in ("/admin/logout", "/admin/login")]
        assert "/admin/history" in links and "/admin/analytics" in links, links
        for link in [*links, "/admin/assistant/create", "/admin/tool/create"]:
            response = await logged_in.get(link)
            assert response.status_code == 200, (link, response.status_code)
        assert len(links) >= 11, links  # 8 tables, history, analytics, conversations

    async def test_analytics_embeds_the_stats_and_serves_chart_js(
        self, logged_in: httpx.AsyncClient
    ) -> None:
        page = await logged_in.get("/admin/analytics?days=7")
        assert page.status_code == 200
        assert 'id="stats-data"' in page.text and "chart-messages" in page.text
        script = re.search(r'src="([^"]*chart\.js)"', page.text)
        assert script is not None
        js = await logged_in.get(script.group(1))
        assert js.status_code == 200 and "Chart.js" in js.text[:200]

    async def test_conversation_viewer_shows_tool_calls(
        self, logged_in: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        thread = await api.thread(user["id"])
        await api.say(thread["thread_id"], "weather in Oslo?", user_id=user["id"])
        calls = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"location": "Oslo"}'},
            }
        ]
        await api.say(thread["thread_id"], None, role="assistant", tool_calls=calls)
        page = await logged_in.get(
            f"/admin/conversations?user={user['telegram_id']}&thread={thread['thread_id']}"
        )
        assert page.status_code == 200
        assert thread["thread_id"] in page.text and "weather in Oslo?" in page.text
        assert "call_1" in page.text
