"""Refusals that name what was wrong: a turn's context for an assistant that does not exist,
a provider URL without a host, a tool schema that is not JSON or not an object."""

from __future__ import annotations

import uuid

from rest_service.tests.conftest import Api, assert_error, unique


async def test_a_turn_for_an_assistant_that_does_not_exist_is_a_404_naming_it(api: Api) -> None:
    user = await api.user()
    ghost = str(uuid.uuid4())
    body = {"user_id": user["id"], "assistant_id": ghost, "profile_id": user["id"]}

    response = await api.http.post("/api/threads/context", json=body, headers=api.service)

    error = assert_error(response, 404, "not_found")
    assert "assistant" in error["detail"] and ghost in error["detail"]
    threads = await api.ok("GET", f"/api/threads/?user_id={user['id']}", api.service)
    assert threads == []  # no thread left behind for the assistant that is not there


async def test_a_provider_url_without_a_host_is_a_422_naming_base_url(api: Api) -> None:
    for url in ("http:///v1", "https://:8080/v1"):
        body = {"name": unique("provider"), "base_url": url}
        response = await api.http.post("/api/llm-providers/", json=body, headers=api.admin)
        error = assert_error(response, 422, "validation_error")
        assert "base_url" in response.text and "needs a host" in response.text, error


async def test_a_tool_schema_sent_as_text_that_is_not_json_is_a_422_naming_it(api: Api) -> None:
    body = {"name": unique("tool"), "tool_type": "time", "input_schema": '{"type": "object",'}

    response = await api.http.post("/api/tools/", json=body, headers=api.admin)

    error = assert_error(response, 422, "validation_error")
    assert [f["field"] for f in error["fields"]] == ["input_schema"]
    assert "not JSON" in response.text
    assert body["name"] not in await api.names("/api/tools/")


async def test_a_tool_schema_that_is_json_but_no_object_is_a_422_naming_it(api: Api) -> None:
    for schema in ('["q"]', '"an object"', "[]", "42"):
        body = {"name": unique("tool"), "tool_type": "time", "input_schema": schema}

        response = await api.http.post("/api/tools/", json=body, headers=api.admin)

        error = assert_error(response, 422, "validation_error")
        assert [f["field"] for f in error["fields"]] == ["input_schema"], schema
        assert "must be a JSON object" in response.text, schema
