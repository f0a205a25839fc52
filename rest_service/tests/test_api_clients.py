"""API clients and their keys: the key shown once and stored only as a hash, checked for the
channels service with one 401 for every failure, stopped at once by a rotation or a revoke."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from common.infrastructure import service_tokens
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.state import AppState
from rest_service.tests.conftest import Api, assert_error, unique
from tests.tiers import examples

PUBLIC_URL = "https://93.184.216.34/answers"
SCOPED = {name: f"{name}-{uuid.uuid4().hex}" for name in service_tokens.SCOPES}
CHANNELS = {"Authorization": f"Bearer {SCOPED['channels']}"}


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    """rest_service as deployed with every service's own token."""
    scoped = {service_tokens.env_name(name): token for name, token in SCOPED.items()}
    return {**service_env, **scoped}


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false")
    return settings_env


async def make(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("client"), **fields}
    return await api.ok("POST", "/api/api-clients", api.admin, json=body)


async def check(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/api/api-clients/authenticate", json={"key": key}, headers=CHANNELS)


async def refused(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    """Every refusal is this one answer."""
    body = assert_error(await check(client, key), 401, "unauthorized")
    assert body["detail"] == "unknown or revoked API key" and body["fields"] == [], body
    return body


class TestKeys:
    async def test_create_shows_the_key_once_and_get_and_list_never(self, api: Api) -> None:
        made = await make(api, webhook_url=PUBLIC_URL, per_minute_limit=60, daily_limit=1000)
        key = made["key"]
        assert key.startswith("sa_") and len(key) == 46
        assert made["key_prefix"] == key[:11] and made["revoked_at"] is None
        assert made["allowed_assistants"] == [] and made["webhook_url"] == PUBLIC_URL
        shown = [
            await api.ok("GET", f"/api/api-clients/{made['id']}", api.admin),
            *await api.ok("GET", "/api/api-clients", api.admin),
        ]
        for row in shown:
            assert "key" not in row and "key_hash" not in row
            assert key not in str(row) and key[:11] in str(row)

    async def test_the_answers_that_carry_a_key_are_kept_by_no_cache(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await client.post("/api/api-clients", json={"name": unique("c")}, headers=api.admin)
        rotated = await client.post(f"/api/api-clients/{made.json()['id']}/key", headers=api.admin)
        assert made.status_code == 201 and rotated.status_code == 200
        assert made.headers["Cache-Control"] == rotated.headers["Cache-Control"] == "no-store"

    async def test_the_stored_row_holds_the_keys_hash_and_not_the_key(
        self, api: Api, app: FastAPI
    ) -> None:
        made = await make(api)
        state: AppState = app.state.app_state
        async with unit_of_work(state, "test") as ctx:
            row = (
                await ctx.session.execute(
                    text("SELECT * FROM api_clients WHERE id = :id"), {"id": made["id"]}
                )
            ).one()
        stored = " ".join(str(value) for value in row)
        assert made["key"] not in stored and made["key"][11:] not in stored
        assert row.key_hash == hashlib.sha256(made["key"].encode()).hexdigest()

    async def test_a_live_key_authenticates_to_its_client(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        assistant = await api.assistant()
        made = await make(
            api,
            webhook_url=PUBLIC_URL,
            allowed_assistants=[assistant["name"], assistant["name"]],
            per_minute_limit=5,
            daily_limit=7,
        )
        response = await check(client, made["key"])
        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": made["id"],
            "name": made["name"],
            "webhook_url": PUBLIC_URL,
            "allowed_assistants": [assistant["name"]],
            "per_minute_limit": 5,
            "daily_limit": 7,
        }

    async def test_wrong_malformed_and_near_keys_get_the_same_401(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        key = (await make(api))["key"]
        flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
        for wrong in (flipped, key[:-1], key + "x", "sa_", "", "not-a-key", key.upper(), "\x00"):
            await refused(client, wrong)
        await refused(client, "sa_" + "A" * 43)  # the right shape, nobody's

    async def test_rotation_stops_the_old_key_at_once_and_shows_the_new_once(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await make(api)
        rotated = await api.ok("POST", f"/api/api-clients/{made['id']}/key", api.admin)
        assert rotated["key"] != made["key"] and rotated["key_prefix"] == rotated["key"][:11]
        await refused(client, made["key"])
        assert (await check(client, rotated["key"])).json()["id"] == made["id"]
        got = await api.ok("GET", f"/api/api-clients/{made['id']}", api.admin)
        assert "key" not in got and got["key_prefix"] == rotated["key_prefix"]

    async def test_revoke_stops_the_key_at_once_and_keeps_the_row(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await make(api)
        assert (await check(client, made["key"])).status_code == 200
        path = f"/api/api-clients/{made['id']}"
        assert (await client.delete(path, headers=api.admin)).status_code == 204
        await refused(client, made["key"])
        first = (await api.ok("GET", path, api.admin))["revoked_at"]
        assert first is not None
        assert (await client.delete(path, headers=api.admin)).status_code == 204
        assert (await api.ok("GET", path, api.admin))["revoked_at"] == first
        rotate = await client.post(f"{path}/key", headers=api.admin)
        assert assert_error(rotate, 409, "conflict")["fields"][0]["field"] == "revoked_at"
        await refused(client, made["key"])

    @settings(
        max_examples=examples(50),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        key=st.one_of(
            st.text(max_size=80),
            st.text(alphabet="abcXYZ019_-", min_size=43, max_size=43).map("sa_".__add__),
        )
    )
    async def test_any_key_string_is_refused_with_the_one_401(
        self, client: httpx.AsyncClient, key: str
    ) -> None:
        await refused(client, key)


class TestCallers:
    async def test_the_admin_routes_refuse_every_service_token(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await make(api)
        path = f"/api/api-clients/{made['id']}"
        calls = [
            ("GET", "/api/api-clients", None),
            ("POST", "/api/api-clients", {"name": "x"}),
            ("GET", path, None),
            ("PATCH", path, {"daily_limit": 1}),
            ("POST", f"{path}/key", None),
            ("DELETE", path, None),
        ]
        for token in [api.service["Authorization"], *(f"Bearer {t}" for t in SCOPED.values())]:
            for method, url, body in calls:
                response = await client.request(
                    method, url, json=body, headers={"Authorization": token}
                )
                assert_error(response, 403, "forbidden")
        assert (await check(client, made["key"])).status_code == 200  # nothing was changed

    async def test_authenticate_is_the_channels_token_and_the_shared_ones_only(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        key = (await make(api))["key"]
        body = {"key": key}
        path = "/api/api-clients/authenticate"
        for name, token in SCOPED.items():
            response = await client.post(
                path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            if name == "channels":
                assert response.status_code == 200, response.text
            else:
                detail = assert_error(response, 403, "forbidden")["detail"]
                assert "may not check API keys" in detail
        assert (await client.post(path, json=body, headers=api.service)).status_code == 200
        assert_error(await client.post(path, json=body, headers=api.admin), 403, "forbidden")
        assert_error(await client.post(path, json=body), 401, "unauthorized")


class TestInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": " "}, "name"),
            ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
            ({"webhook_url": "http://[bad"}, "webhook_url"),
            ({"webhook_url": "http://127.0.0.1:9/x"}, "webhook_url"),
            ({"webhook_url": "http://169.254.169.254/latest"}, "webhook_url"),
            ({"allowed_assistants": ["nobody-by-this-name"]}, "allowed_assistants"),
            ({"allowed_assistants": "all"}, "allowed_assistants"),
            ({"per_minute_limit": -1}, "per_minute_limit"),
            ({"daily_limit": 2**31}, "daily_limit"),
        ],
    )
    async def test_bad_input_is_a_422_naming_the_field(
        self, api: Api, body: dict[str, Any], field: str
    ) -> None:
        full = {"name": unique("client"), **body}
        response = await api.http.post("/api/api-clients", json=full, headers=api.admin)
        fields = assert_error(response, 422, "validation_error")["fields"]
        assert field in {f["field"].split(".")[0] for f in fields}, fields
        made = await make(api)
        patched = await api.http.patch(
            f"/api/api-clients/{made['id']}", json=body, headers=api.admin
        )
        fields = assert_error(patched, 422, "validation_error")["fields"]
        assert field in {f["field"].split(".")[0] for f in fields}, fields

    async def test_authenticate_without_a_key_is_a_422_naming_key(
        self, client: httpx.AsyncClient
    ) -> None:
        for body in ({}, {"key": 5}, {"key": None}):
            response = await client.post(
                "/api/api-clients/authenticate", json=body, headers=CHANNELS
            )
            fields = assert_error(response, 422, "validation_error")["fields"]
            assert [f["field"] for f in fields] == ["key"], fields

    async def test_a_name_is_taken_once_and_null_limits_are_refused(self, api: Api) -> None:
        first, second = await make(api), await make(api)
        again = await api.http.post(
            "/api/api-clients", json={"name": first["name"]}, headers=api.admin
        )
        assert assert_error(again, 409, "conflict")["fields"][0]["field"] == "name"
        path = f"/api/api-clients/{second['id']}"
        taken = await api.http.patch(path, json={"name": first["name"]}, headers=api.admin)
        assert assert_error(taken, 409, "conflict")["fields"][0]["field"] == "name"
        null = await api.http.patch(path, json={"daily_limit": None}, headers=api.admin)
        assert assert_error(null, 422)["fields"][0]["field"] == "daily_limit"

    async def test_patch_changes_what_it_names_and_keeps_the_key(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        assistant = await api.assistant()
        made = await make(api, webhook_url=PUBLIC_URL, daily_limit=3)
        path = f"/api/api-clients/{made['id']}"
        body = {
            "name": made["name"],
            "allowed_assistants": [assistant["name"]],
            "per_minute_limit": 9,
        }
        patched = await api.ok("PATCH", path, api.admin, json=body)
        assert patched["allowed_assistants"] == [assistant["name"]]
        assert (patched["per_minute_limit"], patched["daily_limit"]) == (9, 3)
        cleared = await api.ok("PATCH", path, api.admin, json={"webhook_url": None})
        assert cleared["webhook_url"] is None and "key" not in cleared
        assert (await check(client, made["key"])).json()["per_minute_limit"] == 9

    async def test_an_unknown_client_is_404(self, api: Api) -> None:
        path = f"/api/api-clients/{uuid.uuid4()}"
        for method in ("GET", "PATCH", "DELETE"):
            response = await api.http.request(method, path, json={}, headers=api.admin)
            assert_error(response, 404, "not_found")
        assert_error(await api.http.post(f"{path}/key", headers=api.admin), 404, "not_found")
