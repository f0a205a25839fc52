"""A provider's stored key never follows a new base_url: changing the URL takes the key in
the same request, through the API, the import, a revert and the admin."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.app.main import create_app
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_admin import ORIGIN, login

KEY = "sk-live-0123456789abcdefWXYZ"
ATTACKER = "http://attacker.test/v1"


async def _key_of(api: Api, provider_id: str) -> str | None:
    path = f"/api/llm-providers/{provider_id}/api-key"
    return (await api.ok("GET", path, api.service))["api_key"]


async def _stored(api: Api, provider_id: str) -> dict:
    return await api.ok("GET", f"/api/llm-providers/{provider_id}", api.admin)


class TestPut:
    async def test_a_new_base_url_without_the_key_is_422_naming_api_key(self, api: Api) -> None:
        provider = await api.provider(api_key=KEY)
        response = await api.http.put(
            f"/api/llm-providers/{provider['id']}", json={"base_url": ATTACKER}, headers=api.admin
        )
        error = assert_error(response, 422, "validation_error")
        assert [f["field"] for f in error["fields"]] == ["api_key"]
        assert (await _stored(api, provider["id"]))["base_url"] == "http://llm.test/v1"

    async def test_a_new_base_url_with_its_key_is_taken_and_recorded(self, api: Api) -> None:
        provider = await api.provider(api_key=KEY)
        new_key = "sk-other-provider-key-9876"
        body = {"base_url": "http://llm2.test/v1", "api_key": new_key}
        path = f"/api/llm-providers/{provider['id']}"
        changed = await api.ok("PUT", path, api.admin, json=body)
        assert changed["base_url"] == "http://llm2.test/v1"
        assert await _key_of(api, provider["id"]) == new_key
        history = await api.ok(
            "GET",
            "/api/config/changes",
            api.admin,
            params={"entity": "provider", "entity_id": provider["id"]},
        )
        latest = history[0]
        assert latest["before"]["base_url"] == "http://llm.test/v1"
        assert latest["after"]["base_url"] == "http://llm2.test/v1"
        assert latest["after"]["api_key_masked"].endswith("9876")
        assert new_key not in str(history)

    async def test_other_fields_and_the_same_url_need_no_key(self, api: Api) -> None:
        provider = await api.provider(api_key=KEY)
        path = f"/api/llm-providers/{provider['id']}"
        body = {"name": unique("renamed"), "base_url": "http://llm.test/v1", "is_active": False}
        await api.ok("PUT", path, api.admin, json=body)
        assert await _key_of(api, provider["id"]) == KEY

    async def test_a_provider_without_a_key_or_a_removed_key_may_move(self, api: Api) -> None:
        keyless = await api.provider()
        await api.ok(
            "PUT", f"/api/llm-providers/{keyless['id']}", api.admin, json={"base_url": ATTACKER}
        )
        keyed = await api.provider(api_key=KEY)
        body = {"base_url": ATTACKER, "api_key": None}
        await api.ok("PUT", f"/api/llm-providers/{keyed['id']}", api.admin, json=body)
        assert await _key_of(api, keyed["id"]) is None


class TestOtherWays:
    async def test_a_revert_to_an_older_url_keeps_no_stored_key_for_it(self, api: Api) -> None:
        """An attacker's own URL once set with their key, then fixed: a revert would send
        the real key there."""
        provider = await api.provider(api_key="sk-attackers-own-key-0000")
        path = f"/api/llm-providers/{provider['id']}"
        await api.ok("PUT", path, api.admin, json={"base_url": ATTACKER, "api_key": "sk-a-1111"})
        await api.ok(
            "PUT", path, api.admin, json={"base_url": "http://llm.test/v1", "api_key": KEY}
        )
        changes = await api.ok(
            "GET",
            "/api/config/changes",
            api.admin,
            params={"entity": "provider", "entity_id": provider["id"]},
        )
        to_attacker = next(c for c in changes if c["after"]["base_url"] == ATTACKER)
        response = await api.http.post(
            f"/api/config/changes/{to_attacker['id']}/revert", headers=api.admin
        )
        assert [f["field"] for f in assert_error(response, 422)["fields"]] == ["api_key"]
        assert (await _stored(api, provider["id"]))["base_url"] == "http://llm.test/v1"
        assert await _key_of(api, provider["id"]) == KEY

    async def test_an_import_moving_a_keyed_provider_names_its_key(self, api: Api) -> None:
        provider = await api.provider(api_key=KEY)
        doc = {"providers": [{"name": provider["name"], "base_url": ATTACKER}]}
        response = await api.http.post("/api/config/import", json=doc, headers=api.admin)
        error = assert_error(response, 422)
        assert [f["field"] for f in error["fields"]] == ["providers[0].api_key"]
        with_key = {"providers": [{**doc["providers"][0], "api_key": "sk-new-import-key-4321"}]}
        await api.ok("POST", "/api/config/import", api.admin, json=with_key)
        assert (await _stored(api, provider["id"]))["base_url"] == ATTACKER

    @pytest.mark.commits  # a second app, with an engine of its own, edits the provider
    async def test_the_admin_form_refuses_a_new_url_without_the_key(
        self, api: Api, secrets: dict[str, str], settings_env: dict[str, str]
    ) -> None:
        provider = await api.provider(api_key=KEY)
        # An app of its own: sqladmin's views remember the last app made (another test's).
        app = create_app()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://rest") as client:
                await login(client, secrets["ADMIN_API_TOKEN"])
                form = {"name": provider["name"], "base_url": ATTACKER, "is_active": "y"}
                response = await client.post(
                    f"/admin/llm-provider/edit/{provider['id']}",
                    data={**form, "api_key": ""},
                    headers=ORIGIN,
                )
        assert response.status_code == 400, response.status_code
        assert "api_key" in response.text
        assert (await _stored(api, provider["id"]))["base_url"] == "http://llm.test/v1"


_HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True)
_URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    _HOSTS,
    st.sampled_from(["", ":8080", ":1"]),
    st.sampled_from(["", "/", "/v1", "/v1/", "/openai/v1?x=1"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(url=_URLS, active=st.none() | st.booleans())
async def test_no_new_url_without_a_key_ever_keeps_the_stored_key(
    api: Api, url: str, active: bool | None
) -> None:
    """Whatever URL and partial update: a changed URL without the key is a 422 and changes
    nothing; the same URL is taken."""
    provider = await api.provider(api_key=KEY)
    body = {"base_url": url} | ({} if active is None else {"is_active": active})
    response = await api.http.put(
        f"/api/llm-providers/{provider['id']}", json=body, headers=api.admin
    )
    stored = await _stored(api, provider["id"])
    if url == provider["base_url"]:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 422, "validation_error")
        assert stored == provider
    assert await _key_of(api, provider["id"]) == KEY
