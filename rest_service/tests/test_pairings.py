"""/api/pairings: a stranger's pairing is got-or-made (201 with a fresh pending code, then the
same code with 200); the admin lists them by status and approves or refuses a code (404 for an
unknown one, 422 naming `code` for a malformed one); every change is said on
`pairings:updated` with the person's Telegram id; any body is a success or a 422 naming a
field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.pairing import new_code, parse_code
from rest_service.app.domain import pairings
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.pairing import PairingCreate
from rest_service.tests.conftest import assert_error, channel, telegram_id
from tests.tiers import examples

PATH = "/api/pairings"


async def ask(client: httpx.AsyncClient, service: dict[str, str], who: int, **more: Any):
    return await client.post(PATH, headers=service, json={"telegram_id": who, **more})


async def test_a_stranger_gets_one_pending_code_and_the_same_again(
    client: httpx.AsyncClient, service: dict[str, str]
) -> None:
    who = telegram_id()
    first = await ask(client, service, who, username="ann", first_name="  Ann  ")
    again = await ask(client, service, who)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["code"] == again.json()["code"] == parse_code(first.json()["code"])
    assert first.json()["status"] == "pending" and first.json()["first_name"] == "Ann"


async def test_the_admin_lists_pending_codes_and_approves_or_refuses_them(
    client: httpx.AsyncClient, service: dict[str, str], admin: dict[str, str], redis, names
) -> None:
    anna, boris = telegram_id(), telegram_id()
    code_a = (await ask(client, service, anna)).json()["code"]
    code_b = (await ask(client, service, boris)).json()["code"]
    listed = await client.get(PATH, headers=admin, params={"status": "pending", "limit": 1000})
    async with channel(redis, names.pairings_updated) as heard:
        approved = await client.post(f"{PATH}/{code_a}/approve", headers=admin)
        refused = await client.post(
            f"{PATH}/{code_b.lower()}/refuse", headers=service, json={"by": "telegram:5"}
        )
        said = await heard(1)
    assert {code_a, code_b} <= {row["code"] for row in listed.json()}
    assert int(listed.headers["X-Total-Count"]) >= 2
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "admin-token"
    assert said == [str(anna).encode()]
    assert refused.status_code == 422  # a code is upper case on the wire
    refused = await client.post(
        f"{PATH}/{code_b}/refuse", headers=service, json={"by": "telegram:5"}
    )
    assert (refused.json()["status"], refused.json()["decided_by"]) == ("refused", "telegram:5")
    now_approved = await client.get(PATH, headers=admin, params={"status": "approved"})
    assert code_a in {row["code"] for row in now_approved.json()}
    assert code_b not in {row["code"] for row in now_approved.json()}


async def test_a_code_drawn_twice_is_drawn_again_and_a_decision_made_twice_is_kept(
    app: FastAPI, client: httpx.AsyncClient, service: dict[str, str], admin: dict[str, str]
) -> None:
    taken = (await ask(client, service, telegram_id())).json()["code"]
    fresh = iter([taken, new_code()])
    async with unit_of_work(app.state.app_state) as ctx:
        made, created = await pairings.request(
            ctx, PairingCreate(telegram_id=telegram_id()), draw=lambda: next(fresh)
        )
    first = await client.post(f"{PATH}/{made.code}/approve", headers=admin, json={"by": "Olga"})
    again = await client.post(f"{PATH}/{made.code}/approve", headers=admin, json={"by": "Ivan"})
    assert created and made.code != taken
    with pytest.raises(RuntimeError, match="no free pairing code"):
        async with unit_of_work(app.state.app_state) as ctx:
            await pairings.request(ctx, PairingCreate(telegram_id=telegram_id()), lambda: taken)
    assert first.json()["decided_by"] == again.json()["decided_by"] == "Olga"


async def test_an_unknown_code_is_404_and_a_malformed_one_422_naming_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_error(await client.post(f"{PATH}/AAAAAA/approve", headers=admin), 404)
    body = assert_error(await client.post(f"{PATH}/0OIL1x/approve", headers=admin), 422)
    assert body["fields"][0]["field"] == "code"


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "telegram_id": st.one_of(st.integers(-(2**64), 2**64), st.text(max_size=3)),
            "username": st.one_of(st.text(max_size=300), st.integers(), st.none()),
            "first_name": st.one_of(st.text(max_size=300), st.none()),
        },
    )
)
async def test_any_request_body_is_a_success_or_an_error_naming_a_field(
    client: httpx.AsyncClient, service: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(PATH, headers=service, json=body)
    assert response.status_code in (200, 201, 422), response.text
    if response.status_code == 422:
        assert assert_error(response, 422)["fields"][0]["field"]


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(by=st.one_of(st.text(max_size=120), st.integers(), st.none()))
async def test_any_decision_body_is_a_404_or_an_error_naming_by(
    client: httpx.AsyncClient, admin: dict[str, str], by: Any
) -> None:
    """The body is read before the code is looked up."""
    response = await client.post(f"{PATH}/ZZZZZZ/refuse", headers=admin, json={"by": by})
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert assert_error(response, 422)["fields"][0]["field"] == "by"


@pytest.mark.parametrize("status", ["maybe", ""])
async def test_an_unknown_status_filter_is_422_naming_status(
    client: httpx.AsyncClient, admin: dict[str, str], status: str
) -> None:
    body = assert_error(await client.get(PATH, headers=admin, params={"status": status}), 422)
    assert body["fields"][0]["field"] == "status"
