"""The Knowledge page in a real browser: an article written for an assistant chosen by name,
found by the list's search, edited, refused with the service's reason, and deleted, each with
the same effect as the API. Screenshot: `test-artifacts/admin-knowledge.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, delete_shown, log_in, ok, save
from rest_service.tests.test_admin_names_browser import choose

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api

PAGE = "/admin/knowledge-article"


def articles(api: httpx.Client, word: str) -> list[dict[str, Any]]:
    return list(ok(api.get("/api/knowledge/", params={"q": word})))


def test_write_find_edit_and_delete_an_article(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    shop = ok(api.post("/api/assistants/", json={"name": f"shop_{word}"}))
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"{PAGE}/create")
    page.fill("input[name=title]", "Delivery")
    page.fill("textarea[name=body]", f"We deliver {word} parcels in two days.")
    page.fill("input[name=language]", "EN")
    page.fill("input[name=tags]", "shipping, FAQ")
    choose(page, "assistant_id", shop["name"])
    save(page)
    page.wait_for_url(f"**{PAGE}/list**")
    (made,) = articles(api, word)
    assert made["assistant_id"] == shop["id"] and made["language"] == "en"
    assert made["tags"] == ["shipping", "faq"] and made["source"] == "manual"

    page.goto(f"{PAGE}/list?search={word}")
    row = page.locator("tbody tr", has_text="Delivery")
    assert row.count() == 1 and shop["name"] in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-knowledge.png"), full_page=True)

    page.goto(f"{PAGE}/edit/{made['id']}")
    assert page.input_value("input[name=tags]") == "shipping, faq"
    page.fill("input[name=title]", "Delivery times")
    page.fill("input[name=language]", "")
    save(page)
    page.wait_for_url(f"**{PAGE}/list**")
    (edited,) = articles(api, word)
    assert edited["title"] == "Delivery times" and edited["language"] is None
    assert edited["assistant_id"] == shop["id"]

    page.goto(f"{PAGE}/edit/{made['id']}")
    page.fill("input[name=language]", "klingon")
    save(page)
    assert "ISO 639" in page.content()
    assert articles(api, word)[0]["language"] is None

    page.goto(f"{PAGE}/details/{made['id']}")
    delete_shown(page)
    page.wait_for_url(f"**{PAGE}/list**")
    assert api.get(f"/api/knowledge/{made['id']}").status_code == 404
