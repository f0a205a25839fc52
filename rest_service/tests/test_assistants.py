"""/api/assistants, /api/tools, /api/assistant-tools: not found, invalid, conflict, valid."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from rest_service.tests.conftest import OBJECT_SCHEMA, Api, assert_error, unique

MISSING = str(uuid.uuid4())


class TestAssistants:
    async def test_create_get_update_list(self, api: Api, client: httpx.AsyncClient) -> None:
        made = await api.assistant(instructions="Answer briefly.")
        got = await api.ok("GET", f"/api/assistants/{made['id']}", api.service)
        assert got["instructions"] == "Answer briefly." and got["assistant_type"] == "llm"
        updated = await api.ok(
            "PUT", f"/api/assistants/{made['id']}", api.admin, json={"is_active": False}
        )
        assert updated["is_active"] is False and updated["instructions"] == "Answer briefly."
        response = await client.get(
            "/api/assistants/", params={"is_active": False, "limit": 1}, headers=api.service
        )
        assert response.status_code == 200 and len(response.json()) == 1
        assert response.headers["X-Total-Count"] == "1"

    @pytest.mark.commits
    async def test_of_creates_racing_for_one_name_one_wins_and_the_rest_are_409s_naming_it(
        self, client: httpx.AsyncClient, admin: dict[str, str]
    ) -> None:
        """Each may find the name free before any commits: the unique index decides, and
        its violation is answered as the name check's own conflict."""
        body = {"name": unique("contested"), "instructions": "Be brief."}
        responses = await asyncio.gather(
            *(client.post("/api/assistants/", json=body, headers=admin) for _ in range(5))
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
        for response in responses:
            if response.status_code == 409:
                refused = assert_error(response, 409, "conflict")
                assert [f["field"] for f in refused["fields"]] == ["name"]

    async def test_a_new_secretary_takes_the_role(self, api: Api) -> None:
        first = await api.assistant(is_secretary=True)
        second = await api.assistant(is_secretary=True)
        old = await api.ok("GET", f"/api/assistants/{first['id']}", api.service)
        assert old["is_secretary"] is False and second["is_secretary"] is True

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client: httpx.AsyncClient, admin, method: str) -> None:
        response = await client.request(
            method, f"/api/assistants/{MISSING}", headers=admin, json={}
        )
        assert MISSING in assert_error(response, 404, "not_found")["detail"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "x", "assistant_type": "gpt"}, "assistant_type"),
            ({"name": "x", "model": "no-such-model"}, "model"),
            ({"name": "x\x00"}, "name"),
            ({"instructions": "no name"}, "name"),
        ],
    )
    async def test_invalid_is_422_naming_the_field(
        self, client: httpx.AsyncClient, admin, body: dict, field: str
    ) -> None:
        response = await client.post("/api/assistants/", json=body, headers=admin)
        fields = assert_error(response, 422, "validation_error")["fields"]
        assert field in [f["field"] for f in fields]

    async def test_put_null_for_a_required_field_is_422(self, api: Api, client) -> None:
        made = await api.assistant()
        response = await client.put(
            f"/api/assistants/{made['id']}", json={"name": None}, headers=api.admin
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "name"

    async def test_duplicate_name_is_409(self, api: Api, client: httpx.AsyncClient) -> None:
        made = await api.assistant()
        response = await client.post(
            "/api/assistants/", json={"name": made["name"]}, headers=api.admin
        )
        assert assert_error(response, 409, "conflict")["fields"][0]["field"] == "name"

    async def test_a_rename_to_a_free_name_is_kept_and_to_a_taken_one_is_409(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made, other = await api.assistant(), await api.assistant()
        path = f"/api/assistants/{made['id']}"
        new_name = unique("renamed")
        assert (await api.ok("PUT", path, api.admin, json={"name": new_name}))["name"] == new_name
        taken = await client.put(path, json={"name": other["name"]}, headers=api.admin)
        assert assert_error(taken, 409, "conflict")["fields"][0]["field"] == "name"

    async def test_delete_of_a_referenced_assistant_is_409_unless_cascade(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        assistant = await api.assistant()
        tool = await api.tool()
        await api.link(assistant["id"], tool["id"])
        await api.thread(unique("chat"), assistant["id"])
        path = f"/api/assistants/{assistant['id']}"
        body = assert_error(await client.delete(path, headers=api.admin), 409, "conflict")
        assert "1 tool links" in body["detail"] and "1 threads" in body["detail"]
        assert {f["field"] for f in body["fields"]} == {
            "assistant_tool_link",
            "user_assistant_threads",
        }
        response = await client.delete(path, params={"cascade": True}, headers=api.admin)
        assert response.status_code == 204
        assert (await client.get(path, headers=api.admin)).status_code == 404
        assert (await client.get(f"/api/tools/{tool['id']}", headers=api.admin)).status_code == 200


class TestTools:
    async def test_create_returns_the_schema_parsed(self, api: Api) -> None:
        tool = await api.tool(description="What time is it")
        assert tool["input_schema"] == OBJECT_SCHEMA
        got = await api.ok("GET", f"/api/tools/{tool['id']}", api.service)
        assert got == tool

    async def test_schema_given_as_json_text_is_accepted(self, api: Api) -> None:
        tool = await api.tool(input_schema='{"type": "object", "properties": {}}')
        assert tool["input_schema"] == {"type": "object", "properties": {}}

    @pytest.mark.parametrize(
        ("schema", "reason"),
        [
            ({"type": "object", "properties": {"a": {"type": "strin"}}}, "properties/a/type"),
            ({"type": "object", "required": "a"}, "required"),
            ({"type": "object", "properties": {"a": {"minimum": "one"}}}, "minimum"),
            ({"type": "array"}, '"type": "object"'),
            ("{not json", "not JSON"),
        ],
    )
    async def test_broken_json_schema_is_422_naming_the_problem(
        self, client: httpx.AsyncClient, admin, schema: object, reason: str
    ) -> None:
        body = {"name": unique("t"), "tool_type": "time", "input_schema": schema}
        fields = assert_error(await client.post("/api/tools/", json=body, headers=admin), 422)[
            "fields"
        ]
        assert fields[0]["field"] == "input_schema" and reason in fields[0]["reason"]

    async def test_update_checks_the_schema_too(self, api: Api, client) -> None:
        tool = await api.tool()
        bad = {"input_schema": {"type": "object", "properties": 3}}
        response = await client.put(f"/api/tools/{tool['id']}", json=bad, headers=api.admin)
        assert assert_error(response, 422)["fields"][0]["field"] == "input_schema"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "has space", "tool_type": "time"}, "name"),
            ({"name": "ok", "tool_type": "teleport"}, "tool_type"),
            ({"name": "ok", "tool_type": "sub_assistant"}, "assistant_id"),
        ],
    )
    async def test_invalid_is_422(self, client, admin, body: dict, field: str) -> None:
        body = {**body, "name": body["name"] if " " in body["name"] else unique("t")}
        fields = assert_error(await client.post("/api/tools/", json=body, headers=admin), 422)[
            "fields"
        ]
        assert fields[0]["field"] == field

    async def test_sub_assistant_tool_needs_an_existing_assistant(self, client, admin) -> None:
        body = {"name": unique("t"), "tool_type": "sub_assistant", "assistant_id": MISSING}
        assert_error(await client.post("/api/tools/", json=body, headers=admin), 404)

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client, admin, method: str) -> None:
        response = await client.request(method, f"/api/tools/{MISSING}", headers=admin, json={})
        assert_error(response, 404)

    async def test_the_list_filters_by_type(self, api: Api) -> None:
        timer = await api.tool(tool_type="time")
        listed = await api.ok("GET", "/api/tools/", api.admin, params={"tool_type": "time"})
        assert timer["name"] in {t["name"] for t in listed}
        assert {t["tool_type"] for t in listed} == {"time"}

    async def test_a_rename_to_a_taken_name_is_409_and_to_a_free_one_is_kept(
        self, api: Api, client
    ) -> None:
        tool, other = await api.tool(), await api.tool()
        path = f"/api/tools/{tool['id']}"
        taken = await client.put(path, json={"name": other["name"]}, headers=api.admin)
        assert assert_error(taken, 409, "conflict")["fields"][0]["field"] == "name"
        new_name = unique("renamed")
        assert (await api.ok("PUT", path, api.admin, json={"name": new_name}))["name"] == new_name

    async def test_duplicate_name_is_409(self, api: Api, client) -> None:
        tool = await api.tool()
        body = {"name": tool["name"], "tool_type": "time"}
        assert_error(await client.post("/api/tools/", json=body, headers=api.admin), 409)

    async def test_delete_of_a_linked_tool_is_409_unless_cascade(self, api: Api, client) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        await api.link(assistant["id"], tool["id"])
        path = f"/api/tools/{tool['id']}"
        assert (
            "1 assistants using it"
            in assert_error(await client.delete(path, headers=api.admin), 409)["detail"]
        )
        assert (
            await client.delete(path, params={"cascade": "true"}, headers=api.admin)
        ).status_code == 204
        tools = await api.ok("GET", f"/api/assistants/{assistant['id']}/tools", api.admin)
        assert tools == []


class TestAssistantTools:
    async def test_attach_list_detach(self, api: Api, client: httpx.AsyncClient) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        path = f"/api/assistants/{assistant['id']}/tools/{tool['id']}"
        first = await client.post(path, headers=api.admin)
        again = await client.post(path, headers=api.admin)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        listed = await client.get(f"/api/assistants/{assistant['id']}/tools", headers=api.service)
        assert [t["name"] for t in listed.json()] == [tool["name"]]
        assert listed.headers["X-Total-Count"] == "1"
        assert listed.json()[0]["link_id"] == first.json()["id"]
        assert (await client.delete(path, headers=api.admin)).status_code == 204
        assert_error(await client.delete(path, headers=api.admin), 404)

    async def test_links_collection(self, api: Api, client: httpx.AsyncClient) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        body = {"assistant_id": assistant["id"], "tool_id": tool["id"]}
        made = await client.post("/api/assistant-tools/", json=body, headers=api.admin)
        assert made.status_code == 201
        assert_error(await client.post("/api/assistant-tools/", json=body, headers=api.admin), 409)
        listed = await api.ok(
            "GET", "/api/assistant-tools/", api.admin, params={"tool_id": tool["id"]}
        )
        assert [link["id"] for link in listed] == [made.json()["id"]]
        path = f"/api/assistant-tools/{made.json()['id']}"
        assert (await client.delete(path, headers=api.admin)).status_code == 204
        assert_error(await client.delete(path, headers=api.admin), 404)

    async def test_a_link_may_name_its_own_answerer_which_must_exist(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        assistant, helper, tool = await api.assistant(), await api.assistant(), await api.tool()
        body = {"assistant_id": assistant["id"], "tool_id": tool["id"]}
        missing = await client.post(
            "/api/assistant-tools/", json={**body, "sub_assistant_id": MISSING}, headers=api.admin
        )
        assert "sub-assistant" in assert_error(missing, 404)["detail"]
        made = await api.ok(
            "POST",
            "/api/assistant-tools/",
            api.admin,
            json={**body, "sub_assistant_id": helper["id"]},
        )
        assert made["sub_assistant_id"] == helper["id"]

    async def test_attaching_a_switched_off_link_switches_it_back_on(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        body = {"assistant_id": assistant["id"], "tool_id": tool["id"], "is_active": False}
        off = await api.ok("POST", "/api/assistant-tools/", api.admin, json=body)
        before = await api.version()
        path = f"/api/assistants/{assistant['id']}/tools/{tool['id']}"
        again = await client.post(path, headers=api.admin)
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["is_active"]) == (off["id"], True)
        assert await api.version() == before + 1

    @pytest.mark.parametrize("missing", ["assistant", "tool"])
    async def test_link_to_missing_is_404(self, api: Api, client, missing: str) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        ids = {"assistant": assistant["id"], "tool": tool["id"], missing: MISSING}
        response = await client.post(
            f"/api/assistants/{ids['assistant']}/tools/{ids['tool']}", headers=api.admin
        )
        assert missing in assert_error(response, 404)["detail"]

    async def test_invalid_body_is_422(self, client, admin) -> None:
        response = await client.post(
            "/api/assistant-tools/", json={"assistant_id": "x"}, headers=admin
        )
        assert {"assistant_id", "tool_id"} <= {
            f["field"] for f in assert_error(response, 422)["fields"]
        }

    async def test_path_that_is_not_a_uuid_is_422(self, client, admin) -> None:
        assert_error(await client.get("/api/assistants/not-a-uuid", headers=admin), 422)
