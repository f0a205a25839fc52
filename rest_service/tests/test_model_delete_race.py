"""Deleting (or renaming) an LLM model while PUTs point assistants and users at it (issue
17, attack 8): against the real rest_service process and Postgres, after every round either
the model still exists under that name or nothing refers to the name; the loser of the race
is refused with 409 (or the PUT with 422 when the model was gone before it started)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from ops.processes import Stack
from rest_service.tests.conftest import telegram_id, unique

ROUNDS = 16
WRITERS = 3


async def _ok(http: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
    response = await http.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


@dataclass
class Round:
    """A model, and assistants and users that do not refer to it yet."""

    http: httpx.AsyncClient
    admin: dict[str, str]
    service: dict[str, str]
    name: str = ""
    model_id: str = ""
    assistants: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    async def prepare(self) -> Round:
        body = {"name": unique("p"), "base_url": "http://llm.test/v1"}
        [provider] = await self._made("/api/llm-providers/", self.admin, [body])
        self.name = unique("m")
        body = {"provider_id": provider, "provider_model_name": self.name}
        [self.model_id] = await self._made("/api/llm-models/", self.admin, [body])
        names = [{"name": unique("a")} for _ in range(WRITERS)]
        self.assistants = tuple(await self._made("/api/assistants/", self.admin, names))
        ids = [{"telegram_id": telegram_id()} for _ in range(WRITERS)]
        self.users = tuple(await self._made("/api/users/", self.service, ids))
        return self

    async def _made(self, path: str, headers: dict[str, str], bodies: list[Any]) -> list[str]:
        return [(await _ok(self.http, "POST", path, headers=headers, json=b))["id"] for b in bodies]

    def puts(self) -> list[Any]:
        return [
            *(
                self.http.put(f"/api/assistants/{a}", headers=self.admin, json={"model": self.name})
                for a in self.assistants
            ),
            *(
                self.http.put(
                    f"/api/users/{u}", headers=self.service, json={"preferred_model": self.name}
                )
                for u in self.users
            ),
        ]

    async def references(self) -> list[str | None]:
        found = [
            (await _ok(self.http, "GET", f"/api/assistants/{a}", headers=self.admin))["model"]
            for a in self.assistants
        ]
        for u in self.users:
            user = await _ok(self.http, "GET", f"/api/users/{u}", headers=self.service)
            found.append(user["preferred_model"])
        return found

    async def name_exists(self) -> bool:
        models = await _ok(self.http, "GET", "/api/llm-models/?limit=1000", headers=self.admin)
        return self.name in {m["provider_model_name"] for m in models}


def _check(answers: list[httpx.Response], first: set[int]) -> list[int]:
    assert answers[0].status_code in first, answers[0].text
    for answer in answers[1:]:
        assert answer.status_code in (200, 409, 422), answer.text
    return [a.status_code for a in answers]


async def _delete_round(r: Round, cascade: bool) -> list[int]:
    path = f"/api/llm-models/{r.model_id}?cascade={str(cascade).lower()}"
    answers = await asyncio.gather(r.http.delete(path, headers=r.admin), *r.puts())
    codes = _check(answers, {204, 409})
    if not await r.name_exists():
        assert r.name not in await r.references(), "a reference to a deleted model is left"
    return codes


async def _rename_round(r: Round) -> list[int]:
    rename = r.http.put(
        f"/api/llm-models/{r.model_id}",
        headers=r.admin,
        json={"provider_model_name": unique("renamed")},
    )
    codes = _check(await asyncio.gather(rename, *r.puts()), {200})
    assert not await r.name_exists()
    assert r.name not in await r.references(), "a reference to a renamed-away name is left"
    return codes


async def test_a_model_deleted_during_puts_is_never_left_referenced(
    stack: Stack, secrets: dict[str, str]
) -> None:
    rest = stack.start("rest_service")
    admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=rest.url, timeout=30) as http:
        for i in range(ROUNDS):
            await _delete_round(await Round(http, admin, service).prepare(), cascade=bool(i % 2))


async def test_a_model_renamed_during_puts_leaves_no_reference_to_the_old_name(
    stack: Stack, secrets: dict[str, str]
) -> None:
    rest = stack.start("rest_service")
    admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=rest.url, timeout=30) as http:
        for _ in range(ROUNDS // 2):
            await _rename_round(await Round(http, admin, service).prepare())
