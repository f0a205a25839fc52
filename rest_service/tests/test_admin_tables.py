"""Each admin table's create, edit and delete over HTTP (in process): the form shows the row's
names and values, the write goes through the service layer (the API sees it, the history
names the admin), and a refused write shows the service's reason on the form."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
import pytest

from rest_service.tests.conftest import OBJECT_SCHEMA, Api, unique
from rest_service.tests.test_admin import ORIGIN, login

#: sqladmin's button that stays on the saved row (its edit page: the redirect names the row).
CONTINUE = "Save and continue editing"


@pytest.fixture
async def admin_http(client: httpx.AsyncClient, secrets: dict[str, str]) -> httpx.AsyncClient:
    await login(client, secrets["ADMIN_API_TOKEN"])
    return client


async def post(http: httpx.AsyncClient, path: str, form: Mapping[str, object]) -> httpx.Response:
    return await http.post(path, data=form, headers=ORIGIN)


async def delete(http: httpx.AsyncClient, identity: str, pk: str) -> str:
    """sqladmin answers a delete with the list's URL, carrying `error=` when it was refused."""
    response = await http.delete(f"/admin/{identity}/delete?pks={pk}", headers=ORIGIN)
    assert response.status_code == 200, response.text
    return response.text


async def gone(api: Api, path: str) -> bool:
    response = await api.http.get(path, headers=api.admin)
    return response.status_code == 404


class TestAssistants:
    async def test_an_assistant_made_in_the_admin_uses_the_default_model_when_none_is_chosen(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        model = await api.model(display_name="Quick one")
        page = (await admin_http.get("/admin/assistant/create")).text
        assert "(default model)" in page and "Quick one" in page
        name = unique("assistant")
        form = {"name": name, "instructions": "Hi.", "assistant_type": "llm", "is_active": "y"}
        made = await post(admin_http, "/admin/assistant/create", {**form, "model": ""})
        assert made.status_code == 302, made.text
        chosen = unique("assistant")
        form = {**form, "name": chosen, "model": model["provider_model_name"]}
        assert (await post(admin_http, "/admin/assistant/create", form)).status_code == 302
        listed = await api.ok("GET", "/api/assistants/?limit=1000", api.admin)
        models = {a["name"]: a["model"] for a in listed}
        assert models[name] is None and models[chosen] == model["provider_model_name"]


class TestTools:
    async def test_a_tools_edit_form_shows_its_schema_indented_and_its_sub_assistant(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        answerer = await api.assistant()
        tool = await api.tool(tool_type="sub_assistant", assistant_id=answerer["id"])
        page = (await admin_http.get(f"/admin/tool/edit/{tool['id']}")).text
        assert ">{\n  &#34;type&#34;: &#34;object&#34;,\n  &#34;properties" in page
        assert f'<option selected value="{answerer["id"]}">{answerer["name"]}<' in page

    async def test_a_schema_of_only_spaces_is_left_to_the_service(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        name = unique("tool")
        form = {"name": name, "tool_type": "time", "input_schema": "   ", "is_active": "y"}
        response = await post(admin_http, "/admin/tool/create", form)
        assert response.status_code == 400
        assert "input_schema: not JSON" in response.text
        assert name not in await api.names("/api/tools/")

    async def test_a_tool_is_edited_and_deleted_through_the_service(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        tool = await api.tool(description="old words")
        form = {
            "name": tool["name"],
            "tool_type": "time",
            "description": "new words",
            "input_schema": json.dumps(OBJECT_SCHEMA),
            "config": "",
            "assistant_id": "",
            "is_active": "y",
        }
        edited = await post(admin_http, f"/admin/tool/edit/{tool['id']}", form)
        assert edited.status_code == 302, edited.text
        stored = await api.ok("GET", f"/api/tools/{tool['id']}", api.admin)
        assert stored["description"] == "new words" and stored["assistant_id"] is None
        changes = await api.ok("GET", f"/api/config/changes?entity_id={tool['id']}", api.admin)
        assert changes[0]["actor"] == "api-token" and changes[0]["action"] == "updated"
        assert "error" not in await delete(admin_http, "tool", tool["id"])
        assert await gone(api, f"/api/tools/{tool['id']}")

    async def test_a_long_description_is_cut_in_the_list_with_the_whole_on_hover(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        words = "word " * 40
        await api.tool(description=words)
        listing = (await admin_http.get("/admin/tool/list")).text
        assert f'title="{words}"' in listing and words not in listing.replace(
            f'title="{words}"', ""
        )

    async def test_a_config_that_is_no_object_is_refused_naming_the_field(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        tool = await api.tool()
        form = {
            "name": tool["name"],
            "tool_type": "time",
            "input_schema": json.dumps(OBJECT_SCHEMA),
            "config": "[1, 2]",
            "is_active": "y",
        }
        refused = await post(admin_http, f"/admin/tool/edit/{tool['id']}", form)
        assert refused.status_code == 400
        assert "config: Input should be a valid dictionary" in refused.text


class TestLinks:
    async def test_a_link_is_made_by_names_edited_and_deleted(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        assistant, tool = await api.assistant(), await api.tool()
        answerer = await api.assistant()
        page = (await admin_http.get("/admin/assistant-tool-link/create")).text
        assert assistant["name"] in page and tool["name"] in page and "(none)" in page
        form = {
            "assistant_id": assistant["id"],
            "tool_id": tool["id"],
            "sub_assistant_id": "",
            "is_active": "y",
        }
        made = await post(
            admin_http, "/admin/assistant-tool-link/create", {**form, "save": CONTINUE}
        )
        assert made.status_code == 302, made.text
        link_id = made.headers["location"].rsplit("/", 1)[-1]
        listing = (await admin_http.get("/admin/assistant-tool-link/list")).text
        assert f'title="{assistant["id"]}">{assistant["name"]}<' in listing

        page = (await admin_http.get(f"/admin/assistant-tool-link/edit/{link_id}")).text
        assert f'value="{assistant["id"]}"' in page and 'value=""' in page
        off = {"sub_assistant_id": answerer["id"]}  # no is_active: the box unticked
        edited = await post(admin_http, f"/admin/assistant-tool-link/edit/{link_id}", off)
        assert edited.status_code == 302, edited.text

        assert "error" not in await delete(admin_http, "assistant-tool-link", link_id)
        changes = await api.ok("GET", f"/api/config/changes?entity_id={link_id}", api.admin)
        assert [c["action"] for c in changes] == ["deleted", "updated", "created"]
        assert changes[1]["after"]["sub_assistant_id"] == answerer["id"]
        assert changes[1]["before"]["is_active"] and not changes[1]["after"]["is_active"]

    async def test_a_link_without_its_tool_is_refused_with_the_reason(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        assistant = await api.assistant()
        form = {"assistant_id": assistant["id"], "tool_id": "", "is_active": "y"}
        refused = await post(admin_http, "/admin/assistant-tool-link/create", form)
        assert refused.status_code == 400
        assert "tool_id" in refused.text


class TestProviders:
    async def test_an_edit_without_a_key_keeps_the_stored_one_and_delete_removes_it(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        provider = await api.provider(api_key="sk-kept-1234567890")
        form = {"name": provider["name"] + "-renamed", "base_url": provider["base_url"]}
        edited = await post(
            admin_http, f"/admin/llm-provider/edit/{provider['id']}", {**form, "api_key": ""}
        )
        assert edited.status_code == 302, edited.text
        stored = await api.ok("GET", f"/api/llm-providers/{provider['id']}", api.admin)
        assert stored["name"] == form["name"] and stored["has_api_key"]
        assert not stored["is_active"]  # the box was not ticked
        assert "error" not in await delete(admin_http, "llm-provider", provider["id"])
        assert await gone(api, f"/api/llm-providers/{provider['id']}")

    async def test_a_provider_with_models_is_not_deleted_and_the_admin_is_told(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        model = await api.model()
        said = await delete(admin_http, "llm-provider", model["provider_id"])
        assert "error=" in said
        await api.ok("GET", f"/api/llm-providers/{model['provider_id']}", api.admin)


class TestModels:
    async def test_a_model_edited_in_the_admin_returns_to_its_own_row_and_is_deleted(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        model = await api.model()
        form = {
            "provider_model_name": model["provider_model_name"],
            "display_name": "Shown name",
            "provider_id": model["provider_id"],
            "capabilities": ["chat", "transcription"],
            "is_active": "y",
            "input_price": "2.5",
            "output_price": "",
            "save": CONTINUE,
        }
        edited = await post(admin_http, f"/admin/llm-model/edit/{model['id']}", form)
        assert edited.status_code == 302, edited.text
        assert edited.headers["location"].endswith(f"/admin/llm-model/edit/{model['id']}")
        stored = await api.ok("GET", f"/api/llm-models/{model['id']}", api.admin)
        assert stored["display_name"] == "Shown name"
        assert stored["capabilities"] == ["chat", "transcription"]
        assert (stored["input_price"], stored["output_price"]) == (2.5, None)
        assert "error" not in await delete(admin_http, "llm-model", model["id"])
        assert await gone(api, f"/api/llm-models/{model['id']}")


class TestUsers:
    async def test_the_admin_sets_a_users_timezone_and_model_by_name(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        model = await api.model()
        page = (await admin_http.get(f"/admin/user/edit/{user['id']}")).text
        assert model["provider_model_name"] in page and "(default model)" in page
        form = {
            "username": "ann",
            "first_name": "",
            "language": "",
            "timezone": "Europe/Berlin",
            "preferred_model": model["provider_model_name"],
        }
        edited = await post(admin_http, f"/admin/user/edit/{user['id']}", form)
        assert edited.status_code == 302, edited.text
        stored = await api.ok("GET", f"/api/users/{user['id']}", api.service)
        assert stored["timezone"] == "Europe/Berlin"
        assert stored["preferred_model"] == model["provider_model_name"]
        listing = (await admin_http.get("/admin/user/list")).text
        assert f'href="/admin/users/{user["id"]}">{user["telegram_id"]}<' in listing

    async def test_an_unknown_timezone_is_refused_with_the_field_named(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        form = {"username": "ann", "timezone": "Mars/Olympus_Mons"}
        refused = await post(admin_http, f"/admin/user/edit/{user['id']}", form)
        assert refused.status_code == 400 and "timezone" in refused.text
        stored = await api.ok("GET", f"/api/users/{user['id']}", api.service)
        assert stored["timezone"] != "Mars/Olympus_Mons"

    async def test_deleting_a_user_forgets_them(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        user = await api.user()
        assert "error" not in await delete(admin_http, "user", user["id"])
        assert await gone(api, f"/api/users/{user['id']}")


class TestCronJobs:
    async def test_a_reminder_moved_in_the_form_is_read_as_utc(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        job = await api.job(cron_expression=None, run_at="2031-05-01T09:00:00+00:00")
        form = {
            "name": job["name"],
            "text": job["text"],
            "prompt": "",
            "cron_expression": "",
            "run_at": "2031-06-02 10:30:00",  # the form shows and reads UTC
            "timezone": job["timezone"],
            "status": job["status"],
        }
        edited = await post(admin_http, f"/admin/cron-job/edit/{job['id']}", form)
        assert edited.status_code == 302, edited.text
        stored = await api.ok("GET", f"/api/cron-jobs/{job['id']}", api.service)
        assert stored["run_at"].startswith("2031-06-02T10:30:00")
        assert stored["run_at"].endswith(("Z", "+00:00"))

    async def test_its_runs_read_with_the_reminders_name_and_a_long_error_cut(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        job = await api.job(name="stretch")
        path = f"/api/cron-jobs/{job['id']}/runs"
        error = "the bot was blocked by the user " * 5
        for day, outcome, failure in ((1, "on_time", None), (2, "failed", error)):
            run = {"scheduled_for": f"2031-01-0{day}T09:00:00+00:00", "outcome": outcome}
            await api.ok("POST", path, api.service, json={**run, "error": failure})
        listing = (await admin_http.get("/admin/cron-job-run/list")).text
        assert listing.count(f'title="{job["id"]}">stretch<') == 2
        assert f'title="{error}"' in listing and "on_time" in listing

    async def test_a_cancelled_reminder_is_gone(
        self, admin_http: httpx.AsyncClient, api: Api
    ) -> None:
        job = await api.job()
        assert "error" not in await delete(admin_http, "cron-job", job["id"])
        assert await gone(api, f"/api/cron-jobs/{job['id']}")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/assistant/details/not-a-uuid",
        "/admin/assistant/edit/not-a-uuid",
        "/admin/cron-job-run/details/abc",
        "/admin/cron-job-run/details/99999999999999999999",
        "/admin/tool/details/00000000-0000-4000-8000-000000000000",  # no such tool
    ],
)
async def test_an_address_naming_no_row_is_a_404(admin_http: httpx.AsyncClient, path: str) -> None:
    assert (await admin_http.get(path)).status_code == 404


async def test_a_malformed_id_in_an_edit_post_is_a_404(admin_http: httpx.AsyncClient) -> None:
    response = await post(admin_http, "/admin/assistant/edit/not-a-uuid", {"name": "x"})
    assert response.status_code == 404
