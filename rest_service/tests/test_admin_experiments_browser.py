"""Experiments in a real browser: an experiment started from the form (refused first with the
field at fault, shares that do not add up to 100, and everything typed kept) opens on its
results, one row per arm; promoting the variant writes its prompt into the assistant, and
the change history has it. Screenshot: `test-artifacts/admin-experiment.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_start_read_and_promote_an_experiment(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"salon_{word}", "instructions": "Hi."}))
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/experiments")
    page.select_option("#experiment-assistant", label=shop["name"])
    page.fill("#experiment-name", f"brief {word}")
    page.fill("input[name=variant-0-share]", "50")
    page.fill("input[name=variant-1-name]", "brief")
    page.fill("input[name=variant-1-share]", "60")
    page.fill("textarea[name=variant-1-instructions]", f"Be brief, {word}.")
    page.locator("#experiment-start button[type=submit]").click()
    assert "variants" in page.locator("#experiment-errors").inner_text()

    # the refused form kept what was typed: only the share changes
    assert page.input_value("textarea[name=variant-1-instructions]") == f"Be brief, {word}."
    page.fill("input[name=variant-1-share]", "50")
    page.locator("#experiment-start button[type=submit]").click()
    page.wait_for_url("**/admin/experiments/*")
    results = page.locator("#experiment-results").inner_text()
    assert "control" in results and "brief" in results and "Total" in results
    [made] = [e for e in ok(api.get("/api/experiments/")) if e["name"] == f"brief {word}"]
    assert made["status"] == "running" and made["assistant_id"] == shop["id"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-experiment.png"), full_page=True)

    page.locator("tr", has_text="brief").filter(has_text="50%").locator("button").click()
    assert "promoted" in page.locator("#experiment-done").inner_text()
    assistant = ok(api.get(f"/api/assistants/{shop['id']}"))
    assert assistant["instructions"] == f"Be brief, {word}."
    assert ok(api.get(f"/api/experiments/{made['id']}"))["status"] == "promoted"
    changes = ok(api.get("/api/config/changes", params={"entity_id": shop["id"]}))
    assert any(c["action"] == "updated" for c in changes), changes
