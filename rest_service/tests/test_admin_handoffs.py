"""The admin's side of a handoff (decision 0052), over HTTP in process: a conversation with an
open handoff shows it with a reply form and a hand-back button; the reply reaches the
customer's stream, the hand back closes it and tells the customer; a closed one refuses with
the reason; the bots form takes the operator chat and wait."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN
from rest_service.tests.test_admin_pages import admin_http, element
from rest_service.tests.test_handoffs import PATH, body_for, queued, settings_env

__all__ = ["admin_http", "settings_env"]  # fixtures of the modules they come from


async def test_the_conversation_page_answers_and_hands_back(
    admin_http: httpx.AsyncClient, api: Api, redis: aioredis.Redis, names: Names
) -> None:
    user, shop = await api.user(first_name="Anna"), await api.assistant()
    thread = (await api.thread(user["id"], shop["id"]))["thread_id"]
    await api.say(thread, "I want a person", user_id=user["id"])
    made = await api.ok("POST", PATH, api.service, json=body_for(user, shop))

    page = (await admin_http.get(f"/admin/conversations?thread={thread}")).text
    assert element(page, "handoff-status") == "waiting"
    assert "Anna wants to return a sofa" in element(page, "handoff-summary")

    reply = f"/admin/conversations/handoffs/{made['id']}/reply"
    sent = await admin_http.post(
        reply, headers=ORIGIN, data={"thread": thread, "text": "Hello Anna, Olga here"}
    )
    assert sent.status_code == 303, sent.text
    assert f"thread={thread}" in sent.headers["location"]
    page = (await admin_http.get(sent.headers["location"])).text
    assert element(page, "handoff-status") == "active"
    assert "on its way to the customer" in element(page, "handoff-done")
    to_customer = [
        m.text for m in await queued(redis, names, "queue:to_telegram") if m.chat_id == 555
    ]
    assert to_customer == ["Hello Anna, Olga here"]

    empty = await admin_http.post(reply, headers=ORIGIN, data={"thread": thread, "text": ""})
    assert "text" in (await admin_http.get(empty.headers["location"])).text

    back = f"/admin/conversations/handoffs/{made['id']}/return"
    returned = await admin_http.post(back, headers=ORIGIN, data={"thread": thread})
    page = (await admin_http.get(returned.headers["location"])).text
    assert 'id="handoff-card"' not in page
    shown = await api.ok("GET", f"{PATH}{made['id']}", api.admin)
    assert shown["status"] == "returned" and shown["returned_by"]  # the admin who did it
    again = await admin_http.post(back, headers=ORIGIN, data={"thread": thread})
    refused = (await admin_http.get(again.headers["location"])).text
    assert "returned" in element(refused, "handoff-error")


async def test_the_bots_form_takes_the_operator_chat_and_wait(
    admin_http: httpx.AsyncClient, api: Api
) -> None:
    form = (await admin_http.get("/admin/bot/create")).text
    assert 'name="operator_chat_id"' in form and 'name="operator_wait_minutes"' in form
