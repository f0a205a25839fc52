"""/api/llm-providers and /api/llm-models: keys encrypted and never shown, flags unique."""

from __future__ import annotations

import uuid

import psycopg2
import pytest
import redis.asyncio as aioredis

from common.infrastructure.crypto import SecretBox
from common.infrastructure.postgres_url import sync_url
from common.infrastructure.queue_messages import UserChanged
from common.infrastructure.redis_keys import Names
from rest_service.tests.conftest import Api, assert_error, channel, unique

MISSING = str(uuid.uuid4())
KEY = "sk-live-0123456789abcdefWXYZ"


def raw_row(database_url: str, sql: str, *args: object) -> tuple:
    dsn = sync_url(database_url).replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    conn.close()
    return row


class TestProviders:
    @pytest.mark.commits
    async def test_key_is_encrypted_at_rest_and_shown_masked(
        self, api: Api, database_url: str, secrets: dict[str, str]
    ) -> None:
        provider = await api.provider(api_key=KEY)
        assert provider["api_key_masked"] == "sk-…WXYZ" and provider["has_api_key"] is True
        assert "api_key" not in provider
        (stored,) = raw_row(
            database_url,
            "SELECT api_key_encrypted FROM llm_providers WHERE id = %s",
            provider["id"],
        )
        assert KEY not in stored
        assert SecretBox(secrets["LLM_MODEL_DECRYPT_KEY"]).decrypt(stored) == KEY

    async def test_service_token_reads_the_decrypted_key(self, api: Api, client) -> None:
        provider = await api.provider(api_key=KEY)
        path = f"/api/llm-providers/{provider['id']}/api-key"
        assert (await client.get(path, headers=api.service)).json() == {"api_key": KEY}
        assert_error(await client.get(path, headers=api.admin), 403)
        assert_error(
            await client.get(f"/api/llm-providers/{MISSING}/api-key", headers=api.service), 404
        )

    async def test_put_replaces_or_removes_the_key(self, api: Api, client) -> None:
        provider = await api.provider(api_key=KEY)
        path = f"/api/llm-providers/{provider['id']}"
        kept = await api.ok("PUT", path, api.admin, json={"is_active": False})
        assert kept["api_key_masked"] == "sk-…WXYZ" and kept["is_active"] is False
        replaced = await api.ok("PUT", path, api.admin, json={"api_key": "sk-new-key-00001111"})
        assert replaced["api_key_masked"] == "sk-…1111"
        removed = await api.ok("PUT", path, api.admin, json={"api_key": None})
        assert removed["has_api_key"] is False and removed["api_key_masked"] is None
        key = await client.get(f"{path}/api-key", headers=api.service)
        assert key.json() == {"api_key": None}

    async def test_no_secret_in_any_admin_response(self, api: Api, client) -> None:
        provider = await api.provider(api_key=KEY)
        await api.model(provider["id"], is_default=True)
        for path in (
            "/api/llm-providers/",
            f"/api/llm-providers/{provider['id']}",
            "/api/llm-models/",
            "/api/config",
            "/api/config/export",
        ):
            response = await client.get(
                path, headers=api.admin, params={"limit": 1000} if path.endswith("/") else None
            )
            assert response.status_code == 200, path
            assert KEY not in response.text and "0123456789abcdef" not in response.text, path

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"name": "x", "base_url": "ftp://x"}, "base_url"), ({"base_url": "http://x"}, "name")],
    )
    async def test_invalid_is_422(self, client, admin, body: dict, field: str) -> None:
        response = await client.post("/api/llm-providers/", json=body, headers=admin)
        assert assert_error(response, 422)["fields"][0]["field"] == field

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client, admin, method: str) -> None:
        response = await client.request(
            method, f"/api/llm-providers/{MISSING}", headers=admin, json={}
        )
        assert_error(response, 404)

    async def test_duplicate_name_is_409(self, api: Api, client) -> None:
        provider = await api.provider()
        body = {"name": provider["name"], "base_url": "http://x.test"}
        assert_error(await client.post("/api/llm-providers/", json=body, headers=api.admin), 409)

    async def test_delete_with_models_is_409_unless_cascade(self, api: Api, client) -> None:
        model = await api.model()
        path = f"/api/llm-providers/{model['provider']['id']}"
        assert (
            "1 models" in assert_error(await client.delete(path, headers=api.admin), 409)["detail"]
        )
        assert (
            await client.delete(path, params={"cascade": 1}, headers=api.admin)
        ).status_code == 204
        assert_error(await client.get(f"/api/llm-models/{model['id']}", headers=api.admin), 404)


class TestModels:
    async def test_create_shows_the_provider_and_name(self, api: Api) -> None:
        provider = await api.provider()
        model = await api.model(provider["id"], display_name="Fast")
        assert model["name"] == model["provider_model_name"]
        assert model["provider"] == {
            "id": provider["id"],
            "name": provider["name"],
            "base_url": provider["base_url"],
        }
        got = await api.ok("GET", f"/api/llm-models/{model['id']}", api.service)
        assert got == model

    async def test_one_default_and_one_fallback(self, api: Api) -> None:
        first = await api.model(is_default=True, is_fallback=True)
        second = await api.model(is_default=True)
        third = await api.model(is_fallback=True)
        models = {
            m["id"]: m
            for m in await api.ok("GET", "/api/llm-models/", api.service, params={"limit": 1000})
        }
        assert [m["id"] for m in models.values() if m["is_default"]] == [second["id"]]
        assert [m["id"] for m in models.values() if m["is_fallback"]] == [third["id"]]
        assert models[first["id"]]["is_default"] is False

    async def test_active_filter(self, api: Api) -> None:
        model = await api.model(is_active=False)
        active = await api.ok(
            "GET", "/api/llm-models/", api.service, params={"active": True, "limit": 1000}
        )
        inactive = await api.ok(
            "GET", "/api/llm-models/", api.service, params={"active": False, "limit": 1000}
        )
        assert model["id"] not in [m["id"] for m in active]
        assert [m["id"] for m in inactive] == [model["id"]]

    async def test_provider_must_exist(self, client, admin) -> None:
        body = {"provider_id": MISSING, "provider_model_name": unique("m")}
        assert (
            "provider"
            in assert_error(await client.post("/api/llm-models/", json=body, headers=admin), 404)[
                "detail"
            ]
        )

    async def test_a_model_moves_to_another_provider_only_if_it_exists(
        self, api: Api, client
    ) -> None:
        model, other = await api.model(), await api.provider()
        path = f"/api/llm-models/{model['id']}"
        gone = await client.put(path, json={"provider_id": MISSING}, headers=api.admin)
        assert "provider" in assert_error(gone, 404)["detail"]
        moved = await api.ok("PUT", path, api.admin, json={"provider_id": other["id"]})
        assert moved["provider"]["id"] == other["id"]

    async def test_invalid_is_422(self, client, admin) -> None:
        response = await client.post(
            "/api/llm-models/", json={"provider_id": "nope"}, headers=admin
        )
        assert {"provider_id", "provider_model_name"} <= {
            f["field"] for f in assert_error(response, 422)["fields"]
        }

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client, admin, method: str) -> None:
        assert_error(
            await client.request(method, f"/api/llm-models/{MISSING}", headers=admin, json={}), 404
        )

    async def test_duplicate_name_is_409(self, api: Api, client) -> None:
        model = await api.model()
        body = {"provider_id": model["provider"]["id"], "provider_model_name": model["name"]}
        assert_error(await client.post("/api/llm-models/", json=body, headers=api.admin), 409)

    async def test_a_rename_or_cascade_says_which_users_changed(
        self, api: Api, client, redis: aioredis.Redis, names: Names
    ) -> None:
        """The users whose preferred model follows the rename are said on `user:updated`
        (tg_bot caches users), as a change to one user is."""
        model = await api.model()
        user = await api.user(preferred_model=model["name"])
        path = f"/api/llm-models/{model['id']}"
        async with channel(redis, names.user_updated) as heard:
            await api.ok("PUT", path, api.admin, json={"provider_model_name": unique("renamed")})
            await client.delete(path, params={"cascade": True}, headers=api.admin)
            said = [UserChanged.model_validate_json(data) for data in await heard(2)]
        assert {(str(h.user_id), h.telegram_id, h.change) for h in said} == {
            (user["id"], user["telegram_id"], "updated")
        }

    async def test_rename_follows_and_delete_is_409_unless_cascade(self, api: Api, client) -> None:
        model = await api.model()
        assistant = await api.assistant(model=model["name"])
        user = await api.user(preferred_model=model["name"])
        renamed = unique("renamed")
        await api.ok(
            "PUT",
            f"/api/llm-models/{model['id']}",
            api.admin,
            json={"provider_model_name": renamed},
        )
        assert (await api.ok("GET", f"/api/assistants/{assistant['id']}", api.admin))[
            "model"
        ] == renamed
        path = f"/api/llm-models/{model['id']}"
        body = assert_error(await client.delete(path, headers=api.admin), 409)
        assert {f["field"] for f in body["fields"]} == {"assistants", "users"}
        assert (
            await client.delete(path, params={"cascade": True}, headers=api.admin)
        ).status_code == 204
        assert (await api.ok("GET", f"/api/users/{user['id']}", api.service))[
            "preferred_model"
        ] is None
