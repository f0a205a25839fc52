"""The Catalogue in a real browser: an item made in the form (its business chosen by name)
is listed with its price in its currency; a spreadsheet's CSV uploaded on the export / import
page is added, and a bad one lists its rows. Screenshot: `test-artifacts/admin-catalogue.png`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok, save
from rest_service.tests.test_admin_names_browser import choose

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_make_an_item_and_import_a_spreadsheet(
    page: Any, api: httpx.Client, secrets: dict[str, str], tmp_path: Path
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"salon_{word}"}))
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/catalogue-item/create")
    choose(page, "assistant_id", shop["name"])
    page.fill("input[name=name]", f"Manicure {word}")
    page.fill("input[name=price]", "1999.90")
    page.fill("input[name=currency]", "RUB")
    page.fill("input[name=tags]", "nails, hands")
    save(page)
    page.wait_for_url("**/admin/catalogue-item/list**")
    page.goto(f"/admin/catalogue-item/list?search={word}")
    row = page.locator("tr", has_text=f"Manicure {word}")
    assert "1999.90 RUB" in row.inner_text() and shop["name"] in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-catalogue.png"), full_page=True)

    sheet = tmp_path / "prices.csv"
    sheet.write_bytes(f"\ufeffname;price;currency\nPedicure {word};2500,50;RUB\n".encode())
    page.goto("/admin/catalogue-transfer")
    page.set_input_files("#catalogue-file", str(sheet))
    page.locator("#catalogue-import button").click()
    assert "1 added, 0 updated" in page.locator("#catalogue-done").inner_text()
    found = ok(api.get("/api/catalogue/", params={"q": word}))
    prices = {i["name"]: i["price"] for i in found}
    assert prices == {f"Manicure {word}": "1999.90", f"Pedicure {word}": "2500.50"}

    sheet.write_bytes(b"name,price,currency\nBroken,-5,RUB\n")
    page.set_input_files("#catalogue-file", str(sheet))
    page.locator("#catalogue-import button").click()
    assert "rows.1.price" in page.locator("#catalogue-errors").inner_text()
