"""The admin's API clients page through its own HTTP forms: a client made with its key and
webhook secret shown once on the answer to the save (never cached, never on the list),
edited keeping its key, given a new key or webhook secret by its actions, revoked by delete
(the row stays), its latest deliveries on its page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from common.infrastructure.address_guard import guarded_session
from rest_service.app.webhook_delivery import DeliveryWorker
from rest_service.tests.conftest import Api, assert_error
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)

PUBLIC_URL = "https://93.184.216.34/answers"
KEY = re.compile(r"sa_[A-Za-z0-9_-]{43}")
WEBHOOK_SECRET = re.compile(r'value="([A-Za-z0-9_-]{43})" readonly id="api-client-webhook-secret"')


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false")
    return settings_env


def form(**fields: str | list[str]) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "name": "partner",
        "webhook_url": PUBLIC_URL,
        "per_minute_limit": "60",
        "daily_limit": "0",
    }
    return {**base, **fields}


async def live(api: Api, key: str) -> bool:
    response = await api.http.post(
        "/api/api-clients/authenticate", json={"key": key}, headers=api.service
    )
    return response.status_code == 200


async def made(
    http: httpx.AsyncClient, api: Api, **fields: str | list[str]
) -> tuple[dict[str, Any], str, httpx.Response]:
    """A client made through the form: its row (as the API lists it), its key, the answer."""
    saved = await http.post("/admin/api-client/create", data=form(**fields), headers=ORIGIN)
    assert saved.status_code == 200, saved.text
    (key,) = set(KEY.findall(saved.text))
    (client,) = await api.ok("GET", "/api/api-clients", api.admin)
    return client, key, saved


async def test_a_client_is_made_and_its_key_shown_once_on_the_saves_answer(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    assistant = await api.assistant()
    client, key, saved = await made(logged_in, api, allowed_assistants=[assistant["name"]])
    assert "no-store" in saved.headers["Cache-Control"] and "shown this once" in saved.text
    secret = WEBHOOK_SECRET.search(saved.text)
    assert secret is not None and secret.group(1).endswith(client["webhook_secret_masked"][1:])
    assert client["allowed_assistants"] == [assistant["name"]]
    assert client["key_prefix"] == key[:11] and await live(api, key)
    for path in ("/admin/api-client/list", f"/admin/api-client/details/{client['id']}"):
        shown = await logged_in.get(path)
        assert key not in shown.text and key[:11] in shown.text
        assert secret.group(1) not in shown.text
    assert KEY.search((await logged_in.get("/admin/api-client/list")).text) is None


async def test_bad_input_is_refused_on_the_form_saying_which_field(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    private = await logged_in.post(
        "/admin/api-client/create",
        data=form(webhook_url="http://127.0.0.1:9/x"),
        headers=ORIGIN,
    )
    assert private.status_code == 400 and "webhook_url" in private.text
    unknown = await logged_in.post(
        "/admin/api-client/create", data=form(allowed_assistants=["ghost"]), headers=ORIGIN
    )
    assert unknown.status_code == 400 and "no assistant named" in unknown.text
    assert await api.ok("GET", "/api/api-clients", api.admin) == []


async def test_an_edit_changes_the_client_and_keeps_its_key(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    client, key, _ = await made(logged_in, api)
    page = await logged_in.get(f"/admin/api-client/edit/{client['id']}")
    assert page.status_code == 200 and PUBLIC_URL in page.text
    edited = await logged_in.post(
        f"/admin/api-client/edit/{client['id']}",
        data=form(webhook_url="", daily_limit="500"),
        headers=ORIGIN,
    )
    assert edited.status_code == 302, edited.text
    after = await api.ok("GET", f"/api/api-clients/{client['id']}", api.admin)
    assert (after["webhook_url"], after["daily_limit"], after["per_minute_limit"]) == (
        None,
        500,
        60,
    )
    assert after["key_prefix"] == client["key_prefix"] and await live(api, key)


async def test_new_key_stops_the_old_one_and_delete_revokes(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    client, key, _ = await made(logged_in, api)
    action = f"/admin/api-client/action/new-key?pks={client['id']}"
    shown = await logged_in.get(action)
    assert shown.status_code == 200 and "no-store" in shown.headers["Cache-Control"]
    (new,) = set(KEY.findall(shown.text))
    assert new != key and not await live(api, key) and await live(api, new)
    forged = await logged_in.get("/admin/api-client/action/new-key?pks=not-an-id")
    assert forged.status_code == 409 and "not-an-id" in forged.text
    gone = await logged_in.delete(f"/admin/api-client/delete?pks={client['id']}", headers=ORIGIN)
    assert gone.status_code == 200, gone.text
    assert not await live(api, new)
    after = await api.ok("GET", f"/api/api-clients/{client['id']}", api.admin)
    assert after["revoked_at"] is not None  # revoked, not deleted
    refused = await logged_in.get(action)
    assert refused.status_code == 409 and "revoked" in refused.text
    assert_error(
        await api.http.post(f"/api/api-clients/{client['id']}/key", headers=api.admin), 409
    )


async def test_new_webhook_secret_is_shown_once_and_refused_for_a_revoked_client(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    client, _key, _ = await made(logged_in, api)
    action = f"/admin/api-client/action/new-webhook-secret?pks={client['id']}"
    shown = await logged_in.get(action)
    assert shown.status_code == 200 and "no-store" in shown.headers["Cache-Control"]
    found = WEBHOOK_SECRET.search(shown.text)
    assert found is not None and "signed with it from now on" in shown.text
    after = await api.ok("GET", f"/api/api-clients/{client['id']}", api.admin)
    assert after["webhook_secret_masked"] == "…" + found.group(1)[-4:]
    assert after["webhook_secret_masked"] != client["webhook_secret_masked"]
    await api.http.delete(f"/api/api-clients/{client['id']}", headers=api.admin)
    refused = await logged_in.get(action)
    assert refused.status_code == 409 and "revoked" in refused.text


async def test_the_clients_page_lists_its_latest_deliveries_dead_ones_too(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
    app: FastAPI,
) -> None:
    client, _key, _ = await made(logged_in, api)
    page = f"/admin/api-client/details/{client['id']}"
    assert "None yet." in (await logged_in.get(page)).text
    path = f"/api/api-clients/{client['id']}/deliveries"
    body = {"event": "message.notification", "event_id": str(uuid.uuid4()), "payload": {}}
    queued = await api.ok("POST", path, api.admin, json=body)
    await api.http.delete(f"/api/api-clients/{client['id']}", headers=api.admin)
    state = app.state.app_state
    async with guarded_session(5.0, allow_private=False) as http:
        assert await DeliveryWorker(state, http, state.settings).run_once() == 1
    shown = (await logged_in.get(page)).text
    assert "message.notification" in shown and "dead" in shown and "client revoked" in shown
    assert f"/admin/webhook-delivery/details/{queued['id']}" in shown
