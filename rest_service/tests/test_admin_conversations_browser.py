"""Conversations in a real browser: the recent list, found by a word of a message, and the
viewer showing a tool call as a card (name, arguments, result, duration). The conversation
is written through the REST API as the assistant writes it. Screenshot:
`test-artifacts/admin-conversation.png`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
import pytest

from ops.processes import Stack
from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok
from tests.harness import MigratedDatabases, base_env

# The browser suite's Chromium skip, time limit and fixtures.
pytestmark = suite.pytestmark
browser, page = suite.browser, suite.page


@pytest.fixture(scope="module")
def on_a_new_database(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[], AbstractContextManager[dict[str, Any]]]:
    """Starts rest_service on a database of its own."""

    @contextmanager
    def started() -> Iterator[dict[str, Any]]:
        database_url = migrated_databases.create()
        prefix = f"{session_prefix}conv{uuid.uuid4().hex[:6]}:"
        env = base_env(database_url, redis_url, prefix, secrets)
        stack = Stack(env, tmp_path_factory.mktemp("c"))
        try:
            yield {"url": stack.start("rest_service").url}
        finally:
            stack.stop_all()
            migrated_databases.drop(database_url)

    return started


@pytest.fixture(scope="module")
def server(
    on_a_new_database: Callable[[], AbstractContextManager[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    with on_a_new_database() as server:
        yield server


@pytest.fixture
def new_server(
    on_a_new_database: Callable[[], AbstractContextManager[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    """Before any activity, whichever of this module's tests ran first."""
    with on_a_new_database() as server:
        yield server


def write_conversation(server: dict[str, Any], secrets: dict[str, str], word: str) -> str:
    """A user asks about `word`, the model calls the weather tool, the tool answers, the
    model replies: the thread's id."""
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        user = ok(
            svc.post(
                "/api/users/",
                json={"telegram_id": uuid.uuid4().int % 10**12 + 1, "username": f"u{word}"},
            )
        )
        admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
        made = {"name": f"secretary_{word}"}
        assistant = ok(svc.post("/api/assistants/", json=made, headers=admin))
        body = {"user_id": user["id"], "assistant_id": assistant["id"]}
        thread = ok(svc.post("/api/threads/", json=body))["thread_id"]
        call = {
            "id": "call_w1",
            "type": "function",
            "function": {"name": "weather", "arguments": json.dumps({"location": word})},
        }
        messages = [
            {"role": "user", "content": f"weather in {word}?", "user_id": user["id"]},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {
                "role": "tool",
                "tool_call_id": "call_w1",
                "name": "weather",
                "content": json.dumps({"temperature_c": 21, "sky": "clear"}),
                "latency_ms": 140,
            },
            {
                "role": "assistant",
                "content": f"It is **21 °C** and clear in {word}. <script>x()</script>",
            },
        ]
        ok(svc.post(f"/api/threads/{thread}/messages", json={"messages": messages}))
    return str(thread)


def test_without_data_pages_say_what_will_appear(
    browser: Any, new_server: dict[str, Any], secrets: dict[str, str]
) -> None:
    """Before anyone talked to the bot: no empty chart frames, and the conversations page
    says what it will list."""
    with suite.tab_on(browser, new_server["url"]) as page:
        log_in(page, secrets["ADMIN_API_TOKEN"])
        page.goto("/admin/analytics?days=30")
        body = page.locator("body")
        suite.sync_api.expect(body).to_have_attribute("data-charts-explained", "5")
        assert page.locator("canvas").count() == 0
        assert "Every message to the bot" in page.locator("#chart-messages-empty").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-analytics-empty.png"), full_page=True)
        page.goto("/admin/conversations")
        assert "appears here" in page.locator("#conversations-empty").inner_text()


def test_find_a_conversation_by_text_and_read_its_tool_call(
    page: Any, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    word = f"Zed{uuid.uuid4().hex[:6]}"
    thread = write_conversation(server, secrets, word)
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/conversations")
    assert page.locator("tr.recent-row").count() >= 1  # recent conversations, no search
    page.fill("input[name=q]", word.lower())  # any case
    page.locator("form button[type=submit]").click()
    row = page.locator(f"tr.recent-row[data-thread='{thread}']")
    row.wait_for()
    assert page.locator("tr.recent-row").count() == 1
    assert f"u{word}" in row.inner_text()  # the user, by name
    row.locator("a.open-thread").click()
    card = page.locator(".tool-card")
    card.wait_for()
    assert card.locator(".tool-card-name").inner_text() == "weather"
    assert f'"location": "{word}"' in card.locator(".tool-card-arguments").inner_text()
    assert '"temperature_c": 21' in card.locator(".tool-card-result").inner_text()
    assert "140 ms" in card.inner_text()
    answer = page.locator(".answer").last
    assert answer.locator("strong").inner_text() == "21 °C"  # Markdown rendered, as seen
    assert "<script>" in answer.inner_text()  # raw HTML in a reply is shown, never run
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-conversation.png"), full_page=True)
