"""Feedback in a real browser: the Satisfaction page of one assistant shows the share of 👍
among its rated answers, by assistant and by model, and each 👎 with its comment opens its
conversation at the rated answer; the Feedback list filters by rating. Screenshot:
`test-artifacts/admin-satisfaction.png`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api


def test_satisfaction_by_assistant_and_model_and_each_dislike_opens_its_conversation(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    word = uuid.uuid4().hex[:8]
    shop = ok(api.post("/api/assistants/", json={"name": f"rated_{word}"}))
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    with httpx.Client(base_url=server["url"], headers=headers, timeout=10) as svc:
        ratings = {"good answer": 1, "fine answer": 1, f"wrong answer {word}": -1}
        for text, rating in ratings.items():
            user = ok(svc.post("/api/users/", json={"telegram_id": uuid.uuid4().int % 10**12}))
            thread = ok(
                svc.post("/api/threads/", json={"user_id": user["id"], "assistant_id": shop["id"]})
            )
            key = f"{uuid.uuid4()}:answer"
            answer = {
                "role": "assistant",
                "content": text,
                "user_id": user["id"],
                "dedup_key": key,
                "model": f"model-{word}",
            }
            ok(svc.post(f"/api/threads/{thread['thread_id']}/messages", json=answer))
            body = {
                "message_key": key,
                "user_id": user["id"],
                "assistant_id": shop["id"],
                "rating": rating,
            }
            if rating < 0:
                body["comment"] = f"it was wrong {word}"
            ok(svc.post("/api/feedback/", json=body))

    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"/admin/satisfaction?assistant_id={shop['id']}")
    assert page.locator("#satisfaction-total").inner_text().startswith("67")
    assert page.locator("#rated-total").inner_text() == "3"
    assert shop["name"] in page.locator("#by-assistant").inner_text()
    by_model = page.locator("#by-model tr", has_text=f"model-{word}").inner_text()
    assert "67" in by_model and "3" in by_model
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-satisfaction.png"), full_page=True)

    dislike = page.locator("#dislikes tr", has_text=f"it was wrong {word}")
    dislike.locator("a.dislike-conversation").click()
    page.wait_for_load_state()
    assert f"wrong answer {word}" in page.content()

    page.goto(f"/admin/feedback/list?search={word}")
    assert page.locator("tr", has_text=f"it was wrong {word}").count() == 1
