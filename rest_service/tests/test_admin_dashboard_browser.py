"""The admin's landing page and its dead letters in a real browser, over the whole system:
every service a real process, messages flowing through the Telegram and LLM stand-ins, a
malformed entry dead-lettered by the assistant's consumer. The dashboard must show all of it
and refresh itself; a dead letter replayed from the browser must reach the person.
Screenshots: `test-artifacts/admin-dashboard.png`, `admin-dead-letters.png`."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis as syncredis

from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TG_BOT_GROUP, TO_SECRETARY, TO_TELEGRAM
from ops.processes import ServiceProcess
from ops.services import NAMES
from rest_service.tests.test_admin_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    log_in,
    sync_api,
)
from rest_service.tests.test_admin_browser import pytestmark as browser_marks
from sandbox.llm_server import Step
from tests.harness import MigratedDatabases
from tests.streams import raw
from tests.system import Person, System, running_system
from tests.waiting import until_sync

#: The browser tests' Chromium fixture; a longer limit, as the whole system starts first (about
#: 30 s on an idle machine, well over a minute on a busy one).
pytestmark = [browser_marks[0], pytest.mark.timeout(240)]

SERVICES = NAMES


@pytest.fixture(scope="module")
def system(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    prefix = f"{session_prefix}dashboard-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("dashboard")
    with running_system(migrated_databases, redis_url, prefix, secrets, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def admin(system: System) -> ServiceProcess:
    """A rest_service told every service's URL (the system's own one starts first, before
    the others have ports), on the same database and Redis prefix."""
    urls = {
        "ASSISTANT_URL": system.stack.url("assistant"),
        "CRON_SERVICE_URL": system.stack.url("cron_service"),
        "TG_BOT_URL": system.stack.url("tg_bot"),
        "CHANNELS_URL": system.stack.url("channels"),
        "REST_SERVICE_URL": system.stack.url("rest_service"),
    }
    return system.stack.start("rest_service", name="admin", env=urls)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def dead_letter_a_malformed_entry(system: System, redis_url: str) -> int:
    """An entry the assistant cannot read: its consumer dead-letters it at once. Returns
    how many dead letters `queue:to_secretary` then has."""
    client = syncredis.Redis.from_url(redis_url)
    try:
        dead = system.names.dead(TO_SECRETARY)
        before = int(client.xlen(dead))
        client.xadd(system.names.to_secretary, {"data": "not a message"})
        until_sync(lambda: int(client.xlen(dead)) > before, 20, "the entry dead-lettered")
        return int(client.xlen(dead))
    finally:
        client.close()


def talk(conversation: Coroutine[Any, Any, Any]) -> Any:
    """Run the stand-ins' async helpers beside Playwright's sync API (its own event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, conversation).result()


def llm_failure_recorded(system: System, redis_url: str, timeout: float = 10.0) -> None:
    """The assistant writes its LLM counts once a second (`common/features/llm_stats.py`): wait for
    the failed request to be written before the page reads it."""
    client = syncredis.Redis.from_url(redis_url)
    key = system.names.llm_stats(datetime.now(UTC).date().isoformat())
    try:

        def counted() -> bool:
            return any(raw(k).endswith(b":failed") for k in client.hkeys(key))

        until_sync(counted, timeout, "the LLM failure counted")
    finally:
        client.close()


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
    llm_failure_recorded(system, redis_url)

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


def dead_letter_for(system: System, redis_url: str, chat_id: int, text: str) -> str:
    """A reply to `chat_id` as tg_bot's consumer dead-letters one it could not send (the
    queue's fields: the message, the error, its stream and group, attempts, when)."""
    message = OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat_id, text=text)
    client = syncredis.Redis.from_url(redis_url)
    try:
        entry_id = client.xadd(
            system.names.dead(TO_TELEGRAM),
            {
                "data": message.to_json(),
                "error": "TelegramError: Bad Gateway (502) after 5 attempts",
                "stream": TO_TELEGRAM,
                "group": TG_BOT_GROUP,
                "entry_id": "1-0",
                "attempts": "5",
                "failed_at": datetime.now(UTC).isoformat(),
            },
        )
    finally:
        client.close()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def test_replay_a_dead_letter_from_the_browser(
    system: System, admin: ServiceProcess, browser: Any, redis_url: str
) -> None:
    person = Person.new("Rafa")
    talk(system.say(person, "/start"))
    text = f"Your parcel arrived {uuid.uuid4().hex[:6]}"
    entry_id = dead_letter_for(system, redis_url, person.id, text)

    context = browser.new_context(base_url=admin.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, system.secrets["ADMIN_API_TOKEN"])
        page.goto("/admin/dead-letters")
        row = page.locator(f"tr.dlq-row[data-entry-id='{entry_id}']")
        assert "Bad Gateway" in row.inner_text()
        row.locator("a").click()
        shown = cell(page, "#dlq-entry-data")
        assert f'"text": "{text}"' in shown  # the message, pretty-printed JSON
        assert "Bad Gateway" in cell(page, "#dlq-entry")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-dead-letters.png"), full_page=True)

        page.on("dialog", lambda dialog: dialog.accept())
        page.locator("#dlq-entry button.replay-button").click()
        page.locator("#dlq-replayed").wait_for()
        assert page.locator(f"tr.dlq-row[data-entry-id='{entry_id}']").count() == 0
        # Handled: tg_bot sends it to the person.
        delivered = talk(system.next_message(person.id, after=0, containing=text))
        assert text in delivered.text

        page.goto("/admin/history?entity=dead_letter")
        first = page.locator("tr.history-row").first
        assert "replayed" in first.inner_text() and entry_id in first.inner_text()
        assert first.locator("button.revert-button").count() == 0
        change_id = first.get_attribute("data-change-id")
        token = {"Authorization": f"Bearer {system.secrets['ADMIN_API_TOKEN']}"}
        refused = httpx.post(
            f"{admin.url}/api/config/changes/{change_id}/revert", headers=token, timeout=10
        )
        assert refused.status_code == 409, refused.text

        # Purge: every dead letter gone from Redis, the count in the history. One of this
        # test's own to purge: the page offers no purge with none, and the dashboard test's
        # dead letters are there only when it ran first.
        dead_letter_for(system, redis_url, person.id, "one to purge")
        page.goto("/admin/dead-letters")
        page.locator("#dlq-purge").click()
        page.locator("#dlq-purged").wait_for()
        assert page.locator("#dlq-empty").is_visible()
        client = syncredis.Redis.from_url(redis_url)
        try:
            left = [client.xlen(system.names.dead(s)) for s in (TO_SECRETARY, TO_TELEGRAM)]
        finally:
            client.close()
        assert left == [0, 0]
        page.goto("/admin/history?entity=dead_letter")
        assert "purged" in page.locator("tr.history-row").first.inner_text()
    finally:
        context.close()
