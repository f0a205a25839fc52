"""Webhooks in a real browser: a subscription made in the form (events ticked, the signing
secret typed, refused without one) is stored with its secret write-only; a lead then puts a
delivery in the outbox, which the deliveries page lists, and a replay of a delivery still
pending is refused with the reason. Screenshot: `test-artifacts/admin-webhooks.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok, save

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api

#: A public address (the form refuses private ones); nothing answers it here.
PUBLIC_URL = "https://93.184.216.34/hooks"


def test_subscribe_in_the_form_and_see_a_lead_delivery(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/webhook-subscription/create")
    page.fill("input[name=name]", f"crm_{word}")
    page.fill("input[name=url]", PUBLIC_URL)
    page.check("input[name=events][value='lead.created']")
    save(page)
    assert "type the secret the receiver checks" in page.content()

    page.fill("input[name=secret]", f"a-long-signing-secret-{word}")
    page.check("input[name=events][value='lead.created']")
    save(page)
    page.wait_for_url("**/admin/webhook-subscription/list**")
    [hook] = [h for h in ok(api.get("/api/webhooks/")) if h["name"] == f"crm_{word}"]
    assert hook["events"] == ["lead.created"] and hook["secret_masked"] == f"…{word[-4:]}"
    assert "secret" not in hook
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-webhooks.png"), full_page=True)

    shop = ok(api.post("/api/assistants/", json={"name": f"shop_{word}"}))
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        user = ok(svc.post("/api/users/", json={"telegram_id": uuid.uuid4().int % 10**12 + 1}))
        interest = {
            "user_id": user["id"],
            "assistant_id": shop["id"],
            "conversation_key": user["id"],
            "items": ["Haircut"],
        }
        ok(svc.post("/api/leads/interest", json=interest))
    [delivery] = ok(api.get(f"/api/webhooks/{hook['id']}/deliveries"))
    assert delivery["event"] == "lead.created"

    page.goto("/admin/webhook-delivery/list?event=lead.created")
    assert page.locator("tr", has_text="lead.created").count() >= 1
    page.goto(f"/admin/webhook-delivery/action/replay?pks={delivery['id']}")
    # nothing answers the address, so the delivery waits for its next attempt
    assert "Nothing was replayed" in page.content() and "pending" in page.content()
