"""Leads and Contacts in a real browser: a lead the assistant recorded is listed with its
business, items and customer, found by its status filter, given an owner and a status in
the form, and downloaded from the export page as the CSV the API gives; the customer's
contact is listed with the consent they gave, and deleted. Screenshot:
`test-artifacts/admin-leads.png`."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, delete_shown, log_in, ok, save

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_a_lead_is_filtered_edited_and_exported_and_its_contact_deleted(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"barber_{word}"}))
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        telegram_id = uuid.uuid4().int % 10**12 + 1
        user = ok(svc.post("/api/users/", json={"telegram_id": telegram_id, "username": word}))
        contact = {"name": f"Ola {word}", "phone": "+49 30 1234567", "consent_text": "call me"}
        ok(svc.put(f"/api/contacts/of/{user['id']}/{shop['id']}", json=contact))
        interest = {
            "user_id": user["id"],
            "assistant_id": shop["id"],
            "conversation_key": user["id"],
            "items": [f"Haircut {word}"],
            "note": "Saturday morning",
        }
        lead = ok(svc.post("/api/leads/interest", json=interest))

    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/lead/list?status=new")
    row = page.locator("tr", has_text=f"Haircut {word}")
    assert shop["name"] in row.inner_text() and "Saturday morning" in row.inner_text()
    page.goto("/admin/lead/list?status=won")
    assert page.locator("tr", has_text=f"Haircut {word}").count() == 0

    page.goto(f"/admin/lead/edit/{lead['id']}")
    page.select_option("select[name=status]", "in_progress")
    page.fill("input[name=owner]", "Mia")
    save(page)
    page.wait_for_url("**/admin/lead/list**")
    edited = ok(api.get(f"/api/leads/{lead['id']}"))
    assert (edited["status"], edited["owner"]) == ("in_progress", "Mia")
    page.goto("/admin/lead/list?status=in_progress")
    assert "Mia" in page.locator("tr", has_text=f"Haircut {word}").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-leads.png"), full_page=True)

    page.goto("/admin/leads-export")
    page.select_option("#leads-status", "in_progress")
    with page.expect_download() as download:
        page.locator("#leads-export-csv").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    [mine] = [r for r in csv.DictReader(io.StringIO(text)) if r["id"] == lead["id"]]
    assert (mine["name"], mine["phone"], mine["owner"]) == (f"Ola {word}", "'+49301234567", "Mia")

    page.goto(f"/admin/contact/list?search={word}")
    listed = page.locator("tr", has_text=f"Ola {word}")
    assert "+49301234567" in listed.inner_text() and "call me" in listed.inner_text()
    [saved] = ok(api.get("/api/contacts/", params={"q": word}))
    contact_id = saved["id"]
    page.goto(f"/admin/contact/details/{contact_id}")
    delete_shown(page)
    page.wait_for_url("**/admin/contact/list**")
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        gone = svc.get(f"/api/contacts/of/{user['id']}/{shop['id']}")
    assert gone.status_code == 404
