"""The web admin in a real browser: Debian's headless Chromium, driven by Playwright,
against a running rest_service process. Skipped (with the reason) where chromium is missing
(the `chromium` fixture); `.ci/run` installs it. Screenshots go to `test-artifacts/`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis as syncredis

from common.infrastructure.redis_keys import Names
from ops.processes import Stack
from ops.services import ROOT
from tests.harness import base_env

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 20_000

pytestmark = [
    pytest.mark.usefixtures("chromium"),  # skipped without it
    pytest.mark.timeout(90),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


@pytest.fixture(scope="module")
def server(
    database_url: str,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """One rest_service process for the module (a browser test is slow enough as it is)."""
    prefix = f"{session_prefix}admin{uuid.uuid4().hex[:6]}:"
    env = {**base_env(database_url, redis_url, prefix, secrets), "LOG_LEVEL": "INFO"}
    stack = Stack(env, tmp_path_factory.mktemp("admin-stack"))
    try:
        process = stack.start("rest_service")
        yield {"url": process.url, "names": Names(prefix), "redis_url": redis_url}
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test."""
    with tab_on(browser, server["url"]) as tab:
        yield tab


@contextmanager
def tab_on(browser: Any, url: str) -> Iterator[Any]:
    """A tab of a fresh browser context (no cookies) on the rest_service at `url`."""
    context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def api(server: dict[str, Any], secrets: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def log_in(page: Any, password: str) -> None:
    page.goto("/admin/login")
    page.fill("input[name=username]", "browser-admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def save(page: Any) -> None:
    page.locator("input[type=submit][value='Save']").click()


def delete_shown(page: Any) -> None:
    """A details page's Delete, confirmed. sqladmin's script gives the confirm button its URL
    only once the dialog is shown: clicked before that, it sends DELETE to the page itself."""
    page.locator("a", has_text="Delete").first.click()
    confirm = page.locator("#modal-delete-button")
    page.wait_for_function("b => !!b.dataset.url", arg=confirm.element_handle())
    confirm.click()


def test_logged_out_visitor_is_sent_to_login(page: Any) -> None:
    for path in ("/admin/", "/admin/assistant/list", "/admin/analytics"):
        page.goto(path)
        assert page.url.endswith("/admin/login"), page.url
    assert page.locator("input[name=password]").is_visible()


def test_edit_secretary_instructions_reaches_config_and_is_published(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    secretary = ok(
        api.post(
            "/api/assistants/",
            json={"name": f"secretary_{uuid.uuid4().hex[:8]}", "is_secretary": True},
        )
    )
    redis = syncredis.Redis.from_url(server["redis_url"])
    pubsub = redis.pubsub()
    pubsub.subscribe(server["names"].config_updated)
    pubsub.get_message(timeout=1)
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/assistant/edit/{secretary['id']}")
    new_instructions = f"You are a careful secretary. {uuid.uuid4().hex}"
    page.fill("textarea[name=instructions]", new_instructions)
    save(page)
    page.wait_for_url("**/admin/assistant/list**")
    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
    pubsub.close()
    redis.close()
    snapshot = ok(api.get("/api/config"))
    assert snapshot["secretary"]["id"] == secretary["id"]
    assert snapshot["secretary"]["instructions"] == new_instructions
    assert message is not None and int(message["data"]) == snapshot["version"]


def test_tool_with_a_broken_schema_is_refused_with_the_message(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    name = f"broken_{uuid.uuid4().hex[:8]}"
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/tool/create")
    page.fill("input[name=name]", name)
    page.select_option("select[name=tool_type]", "weather")
    typed = json.dumps({"type": "object", "properties": 5})
    page.fill("textarea[name=input_schema]", typed)
    save(page)
    error = page.locator("textarea[name=input_schema] ~ .invalid-feedback")  # at the field
    error.wait_for()
    assert "not a valid JSON Schema at properties" in error.inner_text()
    assert page.locator("textarea[name=input_schema]").input_value() == typed  # kept
    tools = ok(api.get("/api/tools/", params={"limit": 1000}))
    assert name not in {t["name"] for t in tools}


def test_revert_a_change(page: Any, api: httpx.Client, secrets: dict[str, str]) -> None:
    assistant = ok(
        api.post(
            "/api/assistants/",
            json={"name": f"helper_{uuid.uuid4().hex[:8]}", "instructions": "First words."},
        )
    )
    ok(api.put(f"/api/assistants/{assistant['id']}", json={"instructions": "Second words."}))
    version = ok(api.get("/api/config/version"))["version"]
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/history?entity=assistant&entity_id={assistant['id']}")
    rows = page.locator("tr.history-row")
    assert rows.count() == 2
    assert "Second words." in rows.nth(0).inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    rows.nth(1).locator("button.revert-button").click()  # the "created" entry
    page.locator("#history-reverted").wait_for()
    current = ok(api.get(f"/api/assistants/{assistant['id']}"))
    assert current["instructions"] == "First words."
    assert ok(api.get("/api/config/version"))["version"] == version + 1
    assert page.locator("tr.history-row").count() == 3


def seed_activity(server: dict[str, Any], secrets: dict[str, str]) -> None:
    """A conversation with a tool call, model answers and a reminder, as the services write
    them, so the charts have something to draw."""
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        user = ok(svc.post("/api/users/", json={"telegram_id": uuid.uuid4().int % 10**12 + 1}))
        # its own assistant: run first on a fresh database, no other test has made one yet
        name = f"charts_{uuid.uuid4().hex[:8]}"
        assistant = ok(svc.post("/api/assistants/", headers=admin, json={"name": name}))
        body = {"user_id": user["id"], "assistant_id": assistant["id"]}
        thread = ok(svc.post("/api/threads/", json=body))["thread_id"]
        messages = [{"role": "user", "content": "weather in Oslo?", "user_id": user["id"]}] + [
            {
                "role": "assistant",
                "content": f"answer {i}",
                "model": model,
                "tokens_in": 300 + 40 * i,
                "tokens_out": 50 + 10 * i,
                "latency_ms": 400 + 90 * i,
            }
            for i, model in enumerate(["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"])
        ]
        ok(svc.post(f"/api/threads/{thread}/messages", json={"messages": messages}))
        for tool, good in [("weather", True), ("weather", False), ("time", True)]:
            invocation = {"tool_name": tool, "duration_ms": 120, "ok": good, "user_id": user["id"]}
            ok(svc.post("/api/tool-invocations/", json=invocation))
        job = {"name": "tea", "chat_id": 42, "text": "tea", "cron_expression": "0 9 * * *"}
        job_id = ok(svc.post("/api/cron-jobs/", json=job))["id"]
        for days_ago, outcome in [(1, "on_time"), (2, "on_time"), (3, "late"), (4, "missed")]:
            when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
            run = {"scheduled_for": when.isoformat(), "outcome": outcome}
            ok(svc.post(f"/api/cron-jobs/{job_id}/runs", json=run))


def test_analytics_page_renders_its_charts(
    page: Any, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    seed_activity(server, secrets)
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/analytics?days=30")
    page.wait_for_function("document.body.dataset.chartsRendered === '5'")
    sizes = page.eval_on_selector_all("canvas", "cs => cs.map(c => c.width * c.height)")
    assert len(sizes) == 5 and all(size > 0 for size in sizes)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-analytics.png"), full_page=True)
    assert (ARTIFACTS / "admin-analytics.png").stat().st_size > 0


CSP_WATCH = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_every_page_runs_under_the_content_security_policy(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    """The CSP forbids inline scripts without the response's nonce: no page of ours (or of
    sqladmin) may trip it, and its scripts (tables, select boxes, charts) still run."""
    seen_in_console: list[str] = []
    page.on("console", lambda m: seen_in_console.append(m.text))
    page.add_init_script(CSP_WATCH)
    tool = ok(api.get("/api/tools/", params={"limit": 1}))
    log_in(page, secrets["ADMIN_API_TOKEN"])
    paths = ["/admin/", "/admin/assistant/list", "/admin/tool/create", "/admin/history"]
    paths += [f"/admin/tool/edit/{tool[0]['id']}"] if tool else []
    paths += ["/admin/analytics?days=7", "/admin/conversations", "/admin/dead-letters"]
    paths += ["/admin/assistant-tool-link/create", "/admin/dashboard/panel"]
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.evaluate("window.cspViolations") == [], path
    page.goto("/admin/analytics?days=7")
    # Drawn, or explained where there is no data yet (`expect` polls without eval).
    sync_api.expect(page.locator("body")).to_have_attribute("data-charts-done", "5")
    assert not [m for m in seen_in_console if "Content Security Policy" in m], seen_in_console
    # The control: an injected inline script (what an XSS would add) is blocked and seen.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.injected") is None


def test_revert_asks_first_and_a_no_changes_nothing(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    """The confirmation moved from an inline handler to a nonce script: it still asks."""
    assistant = ok(
        api.post(
            "/api/assistants/",
            json={"name": f"asked_{uuid.uuid4().hex[:8]}", "instructions": "Keep me."},
        )
    )
    ok(api.put(f"/api/assistants/{assistant['id']}", json={"instructions": "Newer."}))
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/history?entity=assistant&entity_id={assistant['id']}")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator("tr.history-row").nth(1).locator("button.revert-button").click()
    page.wait_for_timeout(300)
    assert asked and "Restore assistant" in asked[0]
    assert ok(api.get(f"/api/assistants/{assistant['id']}"))["instructions"] == "Newer."
