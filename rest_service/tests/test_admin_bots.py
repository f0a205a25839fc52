"""The bots page of the web admin: made, edited and deleted through the bots domain, the
token write-only and never shown."""

from __future__ import annotations

import httpx

from rest_service.tests.conftest import Api, unique
from rest_service.tests.test_admin import ORIGIN, logged_in
from rest_service.tests.test_bots import telegram_token

__all__ = ["logged_in"]


async def test_a_bot_is_made_and_edited_with_its_token_write_only(
    logged_in: httpx.AsyncClient, api: Api
) -> None:
    assistant = await api.assistant()
    name, token = unique("bot"), telegram_token(555000111)
    form = {
        "name": name,
        "channel": "telegram",
        "greeting": "Hello from the shop",
        "is_active": "y",
        "assistant_id": assistant["id"],
        "allowed_user_ids": "7, 5",
    }
    made = await logged_in.post("/admin/bot/create", data={**form, "token": token}, headers=ORIGIN)
    assert made.status_code == 302, made.text
    (bot,) = [
        b for b in await api.ok("GET", "/api/bots/?limit=1000", api.admin) if b["name"] == name
    ]
    assert (bot["telegram_bot_id"], bot["allowed_user_ids"]) == (555000111, [5, 7])
    for page in (
        "/admin/bot/list",
        f"/admin/bot/details/{bot['id']}",
        f"/admin/bot/edit/{bot['id']}",
    ):
        text = (await logged_in.get(page)).text
        assert token.split(":")[1] not in text and "gAAAA" not in text, page

    edited = await logged_in.post(
        f"/admin/bot/edit/{bot['id']}",
        data={**form, "greeting": "", "allowed_user_ids": "", "token": ""},
        headers=ORIGIN,
    )
    assert edited.status_code == 302, edited.text
    after = await api.ok("GET", f"/api/bots/{bot['id']}", api.admin)
    assert (after["greeting"], after["allowed_user_ids"]) == (None, [])
    kept = await api.ok("GET", f"/api/bots/{bot['id']}/token", api.service)
    assert kept == {"token": token}
    new = telegram_token(555000222)
    replaced = await logged_in.post(
        f"/admin/bot/edit/{bot['id']}", data={**form, "token": new}, headers=ORIGIN
    )
    assert replaced.status_code == 302, replaced.text
    read = await api.ok("GET", f"/api/bots/{bot['id']}/token", api.service)
    assert read == {"token": new}

    gone = await logged_in.delete(f"/admin/bot/delete?pks={bot['id']}", headers=ORIGIN)
    assert gone.status_code == 200, gone.text
    assert (await api.http.get(f"/api/bots/{bot['id']}", headers=api.admin)).status_code == 404


async def test_a_bad_token_is_refused_on_the_form(logged_in: httpx.AsyncClient, api: Api) -> None:
    assistant = await api.assistant()
    form = {"name": unique("bot"), "channel": "telegram", "is_active": "y",
            "assistant_id": assistant["id"], "token": "not-a-token"}  # fmt: skip
    response = await logged_in.post("/admin/bot/create", data=form, headers=ORIGIN)
    assert response.status_code != 302
    assert "not a Telegram bot token" in response.text
