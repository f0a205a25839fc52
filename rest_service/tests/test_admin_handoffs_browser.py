"""A human operator's side in a real browser: a conversation handed to the operators shows
the handoff on the Conversations page with its summary; a reply typed there is sent to the
customer (the handoff becomes active) and the hand-back button closes it. Screenshot:
`test-artifacts/admin-handoff.png`."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_an_operator_answers_from_the_conversation_page_and_hands_back(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"sofas_{word}"}))
    token = f"{random.randint(10**9, 2 * 10**9)}:SOFA-{uuid.uuid4().hex}"
    bot = {"name": f"sofas-{word}", "assistant_id": shop["id"], "token": token}
    made_bot = ok(api.post("/api/bots/", json={**bot, "operator_chat_id": -1005550002}))
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        user = ok(svc.post("/api/users/", json={"telegram_id": uuid.uuid4().int % 10**12}))
        key = f"bot:{made_bot['id']}:{user['id']}"
        thread = ok(
            svc.post(
                "/api/threads/",
                json={"user_id": key, "assistant_id": shop["id"]},  # a thread's key
            )
        )["thread_id"]
        said = {"role": "user", "content": f"a person please {word}", "user_id": user["id"]}
        ok(svc.post(f"/api/threads/{thread}/messages", json=said))
        handoff = {
            "bot_id": made_bot["id"],
            "user_id": user["id"],
            "assistant_id": shop["id"],
            "conversation_key": key,
            "chat_id": 4242,
            "summary": f"The sofa arrived broken {word}",
        }
        made = ok(svc.post("/api/handoffs/", json=handoff))

    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/conversations?thread={thread}")
    listed = page.locator("tr", has_text=f"a person please {word}").inner_text()
    assert f"sofas-{word}" in listed and "group" not in listed  # the customer, with the bot
    assert page.locator("#handoff-status").inner_text() == "waiting"
    assert f"The sofa arrived broken {word}" in page.locator("#handoff-summary").inner_text()
    page.fill("#handoff-reply-text", "Hello, Olga here: we will replace it.")
    page.locator("#handoff-reply").click()
    assert "on its way to the customer" in page.locator("#handoff-done").inner_text()
    assert page.locator("#handoff-status").inner_text() == "active"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-handoff.png"), full_page=True)

    page.locator("#handoff-return").click()
    page.wait_for_load_state()
    assert page.locator("#handoff-card").count() == 0
    shown = ok(api.get(f"/api/handoffs/{made['id']}"))
    assert shown["status"] == "returned" and shown["answered_at"] is not None
