"""`POST /api/config/changes/{id}/revert` for every kind of config object: a deleted one comes
back, an edited one gets its recorded fields again (a provider keeps its current key, which
the history never holds), and an entry that is no config state is refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.history import ConfigChange
from rest_service.tests.conftest import Api, assert_error, unique


async def changes(api: Api, entity_id: str) -> list[dict[str, Any]]:
    """The object's history, newest first."""
    return await api.ok("GET", f"/api/config/changes?entity_id={entity_id}", api.admin)


async def delete(api: Api, path: str) -> None:
    response = await api.http.delete(path, headers=api.admin)
    assert response.status_code == 204, response.text


async def revert(api: Api, change: dict[str, Any]) -> dict[str, Any]:
    return await api.ok("POST", f"/api/config/changes/{change['id']}/revert", api.admin)


async def edited_then_created_state_restored(
    api: Api, path: str, entity_id: str, edit: dict[str, Any]
) -> dict[str, Any]:
    """The object at `path` after `edit` and a revert to the entry that created it."""
    await api.ok("PUT", path, api.admin, json=edit)
    await revert(api, (await changes(api, entity_id))[-1])
    return await api.ok("GET", path, api.admin)


async def stored_change(app: FastAPI, entity: str, **fields: Any) -> int:
    """A history entry written as another part of the service would (not through the API)."""
    async with unit_of_work(app.state.app_state) as ctx:
        row = ConfigChange(entity=entity, entity_id=uuid.uuid4(), actor="test", version=1, **fields)
        ctx.session.add(row)
        await ctx.session.flush()
        assert row.id is not None
        return row.id


async def test_a_deleted_assistant_comes_back_by_name(api: Api) -> None:
    assistant = await api.assistant(instructions="Answer in haiku.")
    await delete(api, f"/api/assistants/{assistant['id']}")
    deleted = (await changes(api, assistant["id"]))[0]
    assert deleted["action"] == "deleted"
    assert (await revert(api, deleted))["id"] == deleted["id"]
    listed = await api.ok("GET", "/api/assistants/", api.admin)
    back = [a for a in listed if a["name"] == assistant["name"]]
    assert [a["instructions"] for a in back] == ["Answer in haiku."]


async def test_a_deleted_tool_comes_back(api: Api) -> None:
    tool = await api.tool(description="tells the time")
    await delete(api, f"/api/tools/{tool['id']}")
    await revert(api, (await changes(api, tool["id"]))[0])
    listed = await api.ok("GET", "/api/tools/", api.admin)
    assert [t["description"] for t in listed if t["name"] == tool["name"]] == ["tells the time"]


async def test_a_removed_link_is_made_again_and_an_existing_one_is_set_back(api: Api) -> None:
    assistant, tool = await api.assistant(), await api.tool()
    link = await api.link(assistant["id"], tool["id"])
    created = (await changes(api, link["id"]))[0]
    before = await api.version()
    await revert(api, created)  # the link exists: its recorded state is written again
    assert await api.version() == before + 1
    await delete(api, f"/api/assistants/{assistant['id']}/tools/{tool['id']}")
    await revert(api, (await changes(api, link["id"]))[0])
    found = await api.ok("GET", f"/api/assistant-tools/?assistant_id={assistant['id']}", api.admin)
    assert [(row["tool_id"], row["is_active"]) for row in found] == [(tool["id"], True)]


async def test_a_provider_gets_its_old_name_back_and_keeps_its_current_key(api: Api) -> None:
    provider = await api.provider(api_key="sk-kept-1234")
    path = f"/api/llm-providers/{provider['id']}"
    created = (await changes(api, provider["id"]))[-1]
    assert "api_key_encrypted" not in created["after"]
    edit = {"name": unique("renamed")}
    now = await edited_then_created_state_restored(api, path, provider["id"], edit)
    assert (now["name"], now["has_api_key"]) == (provider["name"], True)


async def test_a_keyed_providers_old_address_is_not_restored_with_its_key(
    client: httpx.AsyncClient, api: Api
) -> None:
    """The stored key is never sent to another URL: a revert passes the same check as an edit."""
    provider = await api.provider(base_url="http://first.test/v1", api_key="sk-kept-1234")
    path = f"/api/llm-providers/{provider['id']}"
    body = {"base_url": "http://second.test/v1", "api_key": "sk-second-1234"}
    await api.ok("PUT", path, api.admin, json=body)
    created = (await changes(api, provider["id"]))[-1]
    response = await client.post(f"/api/config/changes/{created['id']}/revert", headers=api.admin)
    assert assert_error(response, 422)["fields"][0]["field"] == "api_key"
    assert (await api.ok("GET", path, api.admin))["base_url"] == "http://second.test/v1"


async def test_a_keyless_provider_gets_its_old_address_back(api: Api) -> None:
    provider = await api.provider(base_url="http://first.test/v1")
    path = f"/api/llm-providers/{provider['id']}"
    edit = {"base_url": "http://second.test/v1"}
    now = await edited_then_created_state_restored(api, path, provider["id"], edit)
    assert now["base_url"] == "http://first.test/v1"


async def test_a_deleted_provider_comes_back_without_a_key(api: Api) -> None:
    provider = await api.provider(api_key="sk-gone-1234")
    await delete(api, f"/api/llm-providers/{provider['id']}")
    await revert(api, (await changes(api, provider["id"]))[0])
    listed = await api.ok("GET", "/api/llm-providers/", api.admin)
    back = [p for p in listed if p["name"] == provider["name"]]
    assert [p["has_api_key"] for p in back] == [False]


async def test_a_model_edit_and_a_model_deletion_are_undone(api: Api) -> None:
    model = await api.model(display_name="Fast")
    path = f"/api/llm-models/{model['id']}"
    now = await edited_then_created_state_restored(api, path, model["id"], {"display_name": "Slow"})
    assert now["display_name"] == "Fast"
    await delete(api, path)
    await revert(api, (await changes(api, model["id"]))[0])
    listed = await api.ok("GET", "/api/llm-models/", api.admin)
    name = model["provider_model_name"]
    assert [m["display_name"] for m in listed if m["provider_model_name"] == name] == ["Fast"]


async def test_an_unknown_entry_is_a_404(client: httpx.AsyncClient, admin: dict) -> None:
    response = await client.post("/api/config/changes/987654321/revert", headers=admin)
    assert_error(response, 404, "not_found")


async def test_an_entry_that_records_an_action_cannot_be_reverted(
    app: FastAPI, client: httpx.AsyncClient, admin: dict
) -> None:
    change_id = await stored_change(app, "dead_letter", action="replayed", after={"id": 1})
    response = await client.post(f"/api/config/changes/{change_id}/revert", headers=admin)
    body = assert_error(response, 409, "conflict")
    assert "dead_letter entry records an action" in body["detail"]


async def test_an_entry_without_any_state_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin: dict
) -> None:
    change_id = await stored_change(app, "tool", action="updated")
    response = await client.post(f"/api/config/changes/{change_id}/revert", headers=admin)
    body = assert_error(response, 422)
    assert body["detail"] == f"change {change_id} has no state to restore"
