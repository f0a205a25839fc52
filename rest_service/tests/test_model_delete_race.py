"""Deleting an LLM model while a PUT points an assistant or a user at it (issue 17, attack 8):
against the real rest_service process and Postgres, after every round either the model still
exists or nothing refers to it; the loser of the race is refused with 409 (or the PUT with
422 when the model was gone before it started)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from rest_service.tests.conftest import telegram_id, unique
from tests.harness import Stack

ROUNDS = 16
WRITERS = 3


async def _ok(http: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
    response = await http.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _round(
    http: httpx.AsyncClient, admin: dict[str, str], service: dict[str, str], cascade: bool
) -> list[int]:
    provider = await _ok(
        http,
        "POST",
        "/api/llm-providers/",
        headers=admin,
        json={"name": unique("p"), "base_url": "http://llm.test/v1"},
    )
    name = unique("m")
    model = await _ok(
        http,
        "POST",
        "/api/llm-models/",
        headers=admin,
        json={"provider_id": provider["id"], "provider_model_name": name},
    )
    assistants = [
        await _ok(http, "POST", "/api/assistants/", headers=admin, json={"name": unique("a")})
        for _ in range(WRITERS)
    ]
    users = [
        await _ok(http, "POST", "/api/users/", headers=service, json={"telegram_id": telegram_id()})
        for _ in range(WRITERS)
    ]
    puts = [
        *(
            http.put(f"/api/assistants/{a['id']}", headers=admin, json={"model": name})
            for a in assistants
        ),
        *(
            http.put(f"/api/users/{u['id']}", headers=service, json={"preferred_model": name})
            for u in users
        ),
    ]
    delete = http.delete(
        f"/api/llm-models/{model['id']}", headers=admin, params={"cascade": str(cascade).lower()}
    )
    answers = await asyncio.gather(delete, *puts)
    assert answers[0].status_code in (204, 409), answers[0].text
    for answer in answers[1:]:
        assert answer.status_code in (200, 409, 422), answer.text
    exists = (await http.get(f"/api/llm-models/{model['id']}", headers=admin)).status_code
    if exists == 404:
        for a in assistants:
            found = await _ok(http, "GET", f"/api/assistants/{a['id']}", headers=admin)
            assert found["model"] != name, "an assistant refers to a deleted model"
        for u in users:
            found = await _ok(http, "GET", f"/api/users/{u['id']}", headers=service)
            assert found["preferred_model"] != name, "a user refers to a deleted model"
    else:
        assert exists == 200
    return [a.status_code for a in answers]


async def test_a_model_deleted_during_puts_is_never_left_referenced(
    stack: Stack, secrets: dict[str, str]
) -> None:
    rest = stack.start("rest_service")
    admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    seen: set[int] = set()
    async with httpx.AsyncClient(base_url=rest.url, timeout=30) as http:
        for i in range(ROUNDS):
            seen.update(await _round(http, admin, service, cascade=bool(i % 2)))
    assert 409 in seen or 422 in seen or 204 in seen
