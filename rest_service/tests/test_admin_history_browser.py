"""The change history in a real browser: an assistant edited in the admin reads as one line
with its field diff, a link's ids read as names, the filter by admin, and "revert to this
version" restores it. Screenshot: `test-artifacts/admin-history.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok, save

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_edit_reads_as_one_line_with_a_diff_and_reverts(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    assistant = ok(
        api.post(
            "/api/assistants/",
            json={"name": f"clerk_{suffix}", "instructions": "Answer briefly."},
        )
    )
    tool = ok(api.post("/api/tools/", json={"name": f"clock_{suffix}", "tool_type": "time"}))
    link = {"assistant_id": assistant["id"], "tool_id": tool["id"]}
    ok(api.post("/api/assistant-tools/", json=link))

    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/assistant/edit/{assistant['id']}")
    page.fill("textarea[name=instructions]", "Answer in full sentences.")
    save(page)
    page.wait_for_url("**/admin/assistant/list**")

    page.goto("/admin/history")
    newest = page.locator("tr.history-row").first
    line = newest.inner_text()
    assert f"clerk_{suffix}" in line and "updated" in line
    field = newest.locator(".history-field")
    assert field.count() == 1  # only what changed, no bookkeeping timestamps
    assert field.inner_text() == "Instructions: Answer briefly. → Answer in full sentences."
    height = newest.bounding_box()["height"]
    assert height < 80, height  # one line, not a page of JSON

    link_line = page.locator("tr.history-row", has_text="link").first.inner_text()
    assert f"clerk_{suffix}" in link_line and f"clock_{suffix}" in link_line
    assert assistant["id"] not in link_line and tool["id"] not in link_line

    page.select_option("#history-actor", "api-token")
    page.locator("#history-show").click()
    page.wait_for_url("**actor=api-token**")
    shown = page.locator("tr.history-row")
    assert shown.count() >= 1
    assert all("api-token" in t for t in shown.all_inner_texts())
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto("/admin/history")
    page.screenshot(path=str(ARTIFACTS / "admin-history.png"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/admin/history?entity=assistant&entity_id={assistant['id']}")
    page.locator("tr.history-row").nth(1).locator("button.revert-button").click()
    page.locator("#history-reverted").wait_for()
    assert ok(api.get(f"/api/assistants/{assistant['id']}"))["instructions"] == "Answer briefly."
    newest = page.locator("tr.history-row").first.locator(".history-field").inner_text()
    assert newest == "Instructions: Answer in full sentences. → Answer briefly."
