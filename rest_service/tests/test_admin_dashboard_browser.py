"""The admin's landing page in a real browser, over the whole system: every service a real
process, messages flowing through the Telegram and LLM stand-ins, a malformed entry
dead-lettered by the assistant's consumer. The dashboard must show all of it, and refresh
itself when more happens. Screenshot: `test-artifacts/admin-dashboard.png`."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis as syncredis

from common.names import TO_SECRETARY
from ops.infra import DatabaseServer
from ops.processes import ServiceProcess
from rest_service.tests.test_admin_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    log_in,
    sync_api,
)
from rest_service.tests.test_admin_browser import pytestmark as browser_marks
from sandbox.llm_server import Step
from tests.system import Person, System, running_system

#: The browser tests' Chromium skip; a longer limit, as the whole system starts first (about
#: 30 s on an idle machine, well over a minute on a busy one).
pytestmark = [browser_marks[0], pytest.mark.timeout(240)]

SERVICES = ("rest_service", "google_calendar_service", "assistant", "cron_service", "tg_bot")


@pytest.fixture(scope="module")
def system(
    postgres_server: DatabaseServer,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    prefix = f"{session_prefix}dashboard-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("dashboard")
    with running_system(postgres_server, redis_url, prefix, secrets, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def admin(system: System) -> ServiceProcess:
    """A rest_service told every service's URL (the system's own one starts first, before
    the others have ports), on the same database and Redis prefix."""
    urls = {
        "ASSISTANT_URL": system.stack.url("assistant"),
        "CRON_SERVICE_URL": system.stack.url("cron_service"),
        "TG_BOT_URL": system.stack.url("tg_bot"),
        "REST_SERVICE_URL": system.stack.url("rest_service"),
    }
    return system.stack.start("rest_service", name="admin", env=urls)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def dead_letter_a_malformed_entry(system: System, redis_url: str) -> int:
    """An entry the assistant cannot read: its consumer dead-letters it at once. Returns
    how many dead letters `queue:to_secretary` then has."""
    client = syncredis.Redis.from_url(redis_url)
    try:
        dead = system.names.dead(TO_SECRETARY)
        before = int(client.xlen(dead))
        client.xadd(system.names.to_secretary, {"data": "not a message"})
        deadline = time.monotonic() + 20
        while int(client.xlen(dead)) == before:
            assert time.monotonic() < deadline, "the assistant never dead-lettered the entry"
            time.sleep(0.1)
        return int(client.xlen(dead))
    finally:
        client.close()


def talk(conversation: Coroutine[Any, Any, Any]) -> Any:
    """Run the stand-ins' async helpers beside Playwright's sync API (its own event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, conversation).result()


def cell(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text()).strip()


def test_dashboard_shows_live_figures_and_refreshes(
    system: System, admin: ServiceProcess, browser: Any, redis_url: str
) -> None:
    person = Person.new("Dora")
    # One failed request to the model: the assistant counts it and answers with the fallback.
    system.llm.script(Step(error_status=500, contains="flaky", times=1))
    talk(system.say(person, "what time is it in Oslo?"))
    talk(system.say(person, "hello, flaky model"))
    dead = dead_letter_a_malformed_entry(system, redis_url)

    context = browser.new_context(base_url=admin.url, viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, system.secrets["ADMIN_API_TOKEN"])
        assert page.locator("#dashboard-panel").is_visible()  # the landing page after login
        states = {
            s: page.locator(f"#dashboard-services tr[data-service={s}]").get_attribute("data-state")
            for s in SERVICES
        }
        assert states == dict.fromkeys(SERVICES, "ready"), states
        assert int(cell(page, "#dashboard-messages")) >= 4  # two questions, two answers
        assert int(cell(page, "#dashboard-active-users")) >= 1
        secretary_row = f"#dashboard-queues tr[data-stream='{TO_SECRETARY}']"
        assert cell(page, f"{secretary_row} .q-dead") == str(dead)
        assert cell(page, f"{secretary_row} .q-pending").isdigit()
        assert int(cell(page, "#dashboard-config-version").lstrip("v")) >= 1
        assert "failed" in cell(page, "#dashboard-llm")
        failed = int(cell(page, "#dashboard-llm .h1").split()[0])
        assert failed >= 1
        errors = cell(page, "#dashboard-errors")
        assert "dead letter on queue:to_secretary" in errors and "no reason" not in errors
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)

        # It refreshes itself: a new dead letter appears without a reload.
        page.goto("/admin/?refresh=2")
        more = dead_letter_a_malformed_entry(system, redis_url)
        # (Playwright's `expect` polls without eval, which the page's CSP forbids.)
        sync_api.expect(page.locator(f"{secretary_row} .q-dead")).to_have_text(str(more))
        sync_api.expect(page.locator("body")).to_have_attribute(
            "data-dashboard-refreshed", re.compile(r"[1-9]")
        )
    finally:
        context.close()
