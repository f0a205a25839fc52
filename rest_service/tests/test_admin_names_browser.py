"""Names instead of UUIDs, in a real browser: a tool link made by choosing the assistant and
the tool by name in searchable selects, the list showing names under word headers, times to
the second; an assistant's and a user's model chosen by name; detail pages naming what their
ids point at. Screenshots: `test-artifacts/admin-link-form.png`, `admin-links.png`,
`admin-model-select.png`, `admin-link-details.png`."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from rest_service.tests import test_admin_browser as suite
from rest_service.tests.test_admin_browser import ARTIFACTS, log_in, ok, save

# The browser suite's Chromium skip, time limit and fixtures (one rest_service per module).
pytestmark = suite.pytestmark
server, browser, page, api = suite.server, suite.browser, suite.page, suite.api

LINKS = "/admin/assistant-tool-link"


def choose(page: Any, field: str, name: str) -> None:
    """Open the searchable select of `field`, type part of `name`, take the match."""
    page.locator(f"select[name={field}] + .select2-container").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.fill(name[-8:])
    page.locator(".select2-results__option", has_text=name).first.click()


def assert_named(page: Any, name: str, row_id: str) -> None:
    """A detail page shows `name` where the row holds `row_id`, the id on hover only."""
    cell = page.locator("table span[title]", has_text=name)
    assert cell.count() == 1 and cell.get_attribute("title") == row_id
    assert row_id not in page.locator("table").inner_text()


def test_link_a_tool_by_name_and_read_names_in_the_list(
    page: Any, api: httpx.Client, secrets: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    assistant = ok(api.post("/api/assistants/", json={"name": f"planner_{suffix}"}))
    tool = ok(
        api.post(
            "/api/tools/",
            json={"name": f"lookup_{suffix}", "tool_type": "weather", "description": "x" * 200},
        )
    )
    log_in(page, secrets["ADMIN_API_TOKEN"])
    page.goto(f"{LINKS}/create")
    assert page.locator("select[name=assistant_id]").count() == 1  # no UUID text box
    choose(page, "assistant_id", assistant["name"])
    choose(page, "tool_id", tool["name"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-link-form.png"), full_page=True)
    save(page)
    page.wait_for_url(f"**{LINKS}/list**")

    links = ok(api.get("/api/assistant-tools/", params={"limit": 1000}))
    made = [link for link in links if link["assistant_id"] == assistant["id"]]
    assert [link["tool_id"] for link in made] == [tool["id"]]

    row = page.locator("tbody tr", has_text=assistant["name"])
    text = row.inner_text()
    assert tool["name"] in text and assistant["id"] not in text
    headers = page.locator("thead").inner_text()
    assert "Assistant" in headers and "assistant_id" not in headers and "Updated" in headers
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", text)
    assert times and all(fraction == "" for fraction in times)  # no microseconds
    page.screenshot(path=str(ARTIFACTS / "admin-links.png"), full_page=True)

    page.goto(f"{LINKS}/details/{made[0]['id']}")
    assert_named(page, assistant["name"], assistant["id"])
    assert_named(page, tool["name"], tool["id"])
    page.screenshot(path=str(ARTIFACTS / "admin-link-details.png"), full_page=True)

    page.goto("/admin/tool/list")
    cell = page.locator("tbody tr", has_text=tool["name"]).locator("span[title]")
    assert cell.first.get_attribute("title") == "x" * 200  # cut in the cell, whole on hover

    page.goto(f"/admin/tool/edit/{tool['id']}")
    schema = page.locator("textarea[name=input_schema]").input_value()
    assert schema == '{\n  "type": "object",\n  "properties": {}\n}'  # formatted to edit


def test_assistant_and_user_models_are_chosen_by_name(
    page: Any, api: httpx.Client, server: dict[str, Any], secrets: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    provider = ok(
        api.post(
            "/api/llm-providers/", json={"name": f"p_{suffix}", "base_url": "http://llm.test/v1"}
        )
    )
    model = ok(
        api.post(
            "/api/llm-models/",
            json={
                "provider_id": provider["id"],
                "provider_model_name": f"chat-{suffix}",
                "display_name": f"Chat {suffix}",
            },
        )
    )
    name = model["provider_model_name"]
    assistant = ok(api.post("/api/assistants/", json={"name": f"writer_{suffix}"}))
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    telegram_id = uuid.uuid4().int % 10**12 + 1
    user = ok(
        httpx.post(
            f"{server['url']}/api/users/",
            json={"telegram_id": telegram_id, "username": f"u{suffix}"},
            headers=service,
            timeout=10,
        )
    )
    log_in(page, secrets["ADMIN_API_TOKEN"])

    page.goto(f"/admin/assistant/edit/{assistant['id']}")
    assert page.locator("input[name=model]").count() == 0  # no free-text box
    assert page.locator("select[name=model]").input_value() == ""  # (default model)
    choose(page, "model", name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-model-select.png"), full_page=True)
    save(page)
    page.wait_for_url("**/admin/assistant/list**")
    assert name in page.locator("tbody tr", has_text=assistant["name"]).inner_text()
    assert ok(api.get(f"/api/assistants/{assistant['id']}"))["model"] == name  # stored as-is

    page.goto(f"/admin/assistant/edit/{assistant['id']}")
    assert page.locator("select[name=model]").input_value() == name  # the edit form keeps it

    page.goto(f"/admin/user/edit/{user['id']}")
    assert page.locator("input[name=preferred_model]").count() == 0
    choose(page, "preferred_model", name)
    save(page)
    page.wait_for_url("**/admin/user/list**")
    assert name in page.locator("tbody tr", has_text=f"u{suffix}").inner_text()
    assert ok(api.get(f"/api/users/{user['id']}"))["preferred_model"] == name

    page.goto(f"/admin/llm-model/details/{model['id']}")
    assert_named(page, provider["name"], provider["id"])

    job = {
        "name": f"stretch {suffix}",
        "chat_id": telegram_id,
        "text": "stretch",
        "cron_expression": "0 9 * * *",
        "user_id": user["id"],
    }
    made = ok(httpx.post(f"{server['url']}/api/cron-jobs/", json=job, headers=service, timeout=10))
    page.goto(f"/admin/cron-job/details/{made['id']}")
    assert_named(page, f"@u{suffix}", user["id"])

    sub_tool = ok(
        api.post(
            "/api/tools/",
            json={
                "name": f"ask_writer_{suffix}",
                "tool_type": "sub_assistant",
                "assistant_id": assistant["id"],
            },
        )
    )
    page.goto(f"/admin/tool/details/{sub_tool['id']}")
    assert_named(page, assistant["name"], assistant["id"])
