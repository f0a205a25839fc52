"""Several Google accounts per user: a row per account, one the default (what the
single-connection routes mean), a refresh instead of a duplicate, another default when the
default goes, and rows from before several accounts learning their account's name."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col

from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CalendarCredentials
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.calendar import CalendarCredential
from rest_service.tests.conftest import Api
from tests.tiers import examples

WORK = {"token": "w-token", "refresh_token": "w-refresh", "account": "Me@Work.example"}
HOME = {"token": "h-token", "refresh_token": "h-refresh", "account": "me@home.example"}


async def connect(rest: RestClient, user_id: str, credentials: dict[str, str]) -> None:
    await rest.put_pending_calendar_credentials(user_id, credentials)
    assert await rest.confirm_pending_calendar_credentials(user_id, max_age_seconds=900)


def accounts(found: list[CalendarCredentials]) -> list[tuple[str, bool]]:
    return [(a.account, a.is_default) for a in found]


async def test_the_first_account_is_the_default_and_the_second_joins_it(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()

    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    found = await rest.list_calendar_accounts(user["id"])
    assert accounts(found) == [("me@work.example", True), ("me@home.example", False)]
    default = await rest.get_calendar_credentials(user["id"])
    assert default is not None and default.credentials == WORK


async def test_connecting_an_account_again_refreshes_it_and_keeps_it_default(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()
    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    await connect(rest, user["id"], WORK | {"token": "w-new"})

    found = await rest.list_calendar_accounts(user["id"])
    assert accounts(found) == [("me@work.example", True), ("me@home.example", False)]
    assert found[0].credentials["token"] == "w-new"


async def test_the_user_chooses_the_default(rest: RestClient, api: Api) -> None:
    user = await api.user()
    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    chosen = await rest.set_default_calendar_account(user["id"], "ME@home.example ")

    assert (chosen.account, chosen.is_default) == ("me@home.example", True)
    default = await rest.get_calendar_credentials(user["id"])
    assert default is not None and default.credentials == HOME
    with pytest.raises(NotFoundError):
        await rest.set_default_calendar_account(user["id"], "someone@else.example")


async def test_removing_the_default_makes_the_earliest_other_the_default(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()
    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    await rest.delete_calendar_credentials(user["id"])

    assert accounts(await rest.list_calendar_accounts(user["id"])) == [("me@home.example", True)]
    await rest.delete_calendar_credentials(user["id"], account="me@home.example")
    assert await rest.list_calendar_accounts(user["id"]) == []
    assert await rest.get_calendar_credentials(user["id"]) is None


async def test_removing_another_account_leaves_the_default(rest: RestClient, api: Api) -> None:
    user = await api.user()
    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    await rest.delete_calendar_credentials(user["id"], account="me@home.example")

    assert accounts(await rest.list_calendar_accounts(user["id"])) == [("me@work.example", True)]
    with pytest.raises(NotFoundError):
        await rest.delete_calendar_credentials(user["id"], account="me@home.example")


async def test_a_put_by_account_updates_that_account_only(rest: RestClient, api: Api) -> None:
    user = await api.user()
    await connect(rest, user["id"], WORK)
    await connect(rest, user["id"], HOME)

    await rest.put_calendar_credentials(
        user["id"], HOME | {"token": "h-new"}, valid=False, account="me@home.example"
    )
    await rest.put_calendar_credentials(user["id"], WORK | {"token": "w-new"})

    work, home = await rest.list_calendar_accounts(user["id"])
    assert (work.credentials["token"], work.valid) == ("w-new", True)
    assert (home.credentials["token"], home.valid) == ("h-new", False)


async def test_a_put_by_account_for_a_user_without_any_makes_it_the_default(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()

    made = await rest.put_calendar_credentials(user["id"], HOME, account="me@home.example")

    assert (made.account, made.is_default) == ("me@home.example", True)


async def test_a_row_from_before_several_accounts_learns_its_account(
    rest: RestClient, api: Api, app: FastAPI
) -> None:
    """The migration keeps old rows with no account name (it cannot decrypt); the first read
    takes the name from the credentials, so connecting that account again refreshes it."""
    user = await api.user()
    await rest.put_calendar_credentials(user["id"], WORK)
    async with unit_of_work(app.state.app_state) as ctx:
        await ctx.session.execute(
            update(CalendarCredential)
            .where(col(CalendarCredential.user_id) == uuid.UUID(user["id"]))
            .values(account="")
        )

    await connect(rest, user["id"], WORK | {"token": "w-new"})

    found = await rest.list_calendar_accounts(user["id"])
    assert accounts(found) == [("me@work.example", True)]
    assert found[0].credentials["token"] == "w-new"


async def test_the_routes_answer_404_for_an_unknown_user(rest: RestClient) -> None:
    stranger = str(uuid.uuid4())
    with pytest.raises(NotFoundError):
        await rest.list_calendar_accounts(stranger)
    with pytest.raises(NotFoundError):
        await rest.set_default_calendar_account(stranger, "me@home.example")


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    account=st.one_of(st.none(), st.text(max_size=400), st.integers(), st.lists(st.text())),
    query=st.one_of(st.none(), st.text(min_size=0, max_size=400)),
)
async def test_any_account_body_or_query_is_answered_without_a_server_error(
    client: httpx.AsyncClient, service: dict[str, str], account: object, query: str | None
) -> None:
    user = (
        await client.post("/api/users/", headers=service, json={"telegram_id": 4242424243})
    ).json()
    headers = {**service, "Content-Type": "application/json"}
    response = await client.put(
        f"/api/users/{user['id']}/calendar-accounts/default",
        headers=headers,
        content=json.dumps({"account": account}),
    )
    assert response.status_code in (404, 422), (account, response.text)
    params = {} if query is None else {"account": query}
    path = f"/api/users/{user['id']}/calendar-credentials"
    for method in ("GET", "DELETE"):
        answer = await client.request(method, path, headers=service, params=params)
        assert answer.status_code in (404, 422), (query, answer.text)
    body = {"credentials": {"account": query, "token": "t"}}
    stored = await client.put(path, headers=service, params=params, json=body)
    assert stored.status_code in (200, 422), (query, stored.text)
    if stored.status_code == 200:
        await client.delete(path, headers=service, params=params)
