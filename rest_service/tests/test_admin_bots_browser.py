"""Bots in a real browser: a bot made in the form (its assistant chosen by name, its token
typed, its operator group and wait set) is listed with the token masked and read back the
same over the API; an edit with the token left empty keeps it. Screenshot:
`test-artifacts/admin-bots.png`."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok, save
from rest_service.tests.test_admin_names_browser import choose

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_make_a_bot_with_its_operator_group_and_keep_its_token_on_edit(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"florist_{word}"}))
    token = f"{random.randint(10**9, 2 * 10**9)}:FLOWERS-{uuid.uuid4().hex}"
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto("/admin/bot/create")
    page.fill("input[name=name]", f"florist-{word}")
    choose(page, "assistant_id", shop["name"])
    page.fill("input[name=token]", token)
    page.fill("input[name=operator_chat_id]", "-1009876543210")
    page.fill("input[name=operator_wait_minutes]", "15")
    save(page)
    page.wait_for_url("**/admin/bot/list**")
    listed = page.locator("tr", has_text=f"florist-{word}").inner_text()
    assert shop["name"] in listed and token not in listed and token[-4:] in listed
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-bots.png"), full_page=True)

    [bot] = [b for b in ok(api.get("/api/bots/")) if b["name"] == f"florist-{word}"]
    assert (bot["assistant_id"], bot["operator_chat_id"], bot["operator_wait_minutes"]) == (
        shop["id"],
        -1009876543210,
        15,
    )
    page.goto(f"/admin/bot/edit/{bot['id']}")
    page.fill("[name=greeting]", "Fresh flowers today!")
    save(page)
    page.wait_for_url("**/admin/bot/list**")
    edited = ok(api.get(f"/api/bots/{bot['id']}"))
    assert edited["greeting"] == "Fresh flowers today!"
    assert edited["token_masked"] == bot["token_masked"]  # the empty field kept the token
