"""A user's page in a real browser: their reminders, calendar connection state (never the
tokens), usage this month; disconnecting the calendar and forgetting the user, each after a
confirmation, with the same effect as the API. Screenshot: `test-artifacts/admin-user.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_user_page_shows_them_and_acts(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    secret_token = f"ya29.{uuid.uuid4().hex}"
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        telegram_id = uuid.uuid4().int % 10**12 + 1
        user = ok(svc.post("/api/users/", json={"telegram_id": telegram_id, "username": "mira"}))
        job = {
            "name": "water the plants",
            "chat_id": telegram_id,
            "text": "water",
            "cron_expression": "0 9 * * *",
            "user_id": user["id"],
        }
        ok(svc.post("/api/cron-jobs/", json=job))
        credentials = {"credentials": {"token": secret_token, "refresh_token": "r"}}
        ok(svc.put(f"/api/users/{user['id']}/calendar-credentials", json=credentials))

    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/user/list?search=mira")
    page.locator("a.user-page", has_text=str(telegram_id)).click()  # the list links the page
    page.wait_for_url(f"**/admin/users/{user['id']}")
    assert "water the plants" in page.locator("#user-jobs").inner_text()
    assert page.locator("#calendar-state").inner_text() == "connected"
    assert secret_token not in page.content()  # the tokens are never shown
    assert "message(s)" in page.locator("#user-usage").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-user.png"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#disconnect-calendar").click()
    page.locator("#user-done").wait_for()
    assert page.locator("#calendar-state").inner_text() == "not connected"

    page.locator("#forget-user").click()
    page.wait_for_url("**/admin/user/list**")
    assert api.get(f"/api/users/{user['id']}").status_code == 404
