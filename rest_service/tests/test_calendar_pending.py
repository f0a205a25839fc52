"""Pending calendar credentials: a consented Google account waits beside
the active connection until its owner confirms it; nothing reads it as a connection, a
confirm is one transaction, and an old one expires."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CalendarCredentials
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.calendar import CalendarCredential
from rest_service.tests.conftest import Api

MINE = {"token": "a-token", "refresh_token": "a-refresh", "account": "a@example.com"}
THEIRS = {"token": "v-token", "refresh_token": "v-refresh", "account": "v@example.com"}


async def made_earlier(app: FastAPI, user_id: str, seconds: float) -> None:
    """The user's pending account as if it came `seconds` ago: its time passes, not the test's."""
    pending_since = col(CalendarCredential.pending_since)
    async with unit_of_work(app.state.app_state) as ctx:
        await ctx.session.execute(
            update(CalendarCredential)
            .where(
                col(CalendarCredential.user_id) == uuid.UUID(user_id),
                col(CalendarCredential.status) == "pending",
            )
            .values(pending_since=pending_since - timedelta(seconds=seconds))
        )


async def test_a_pending_account_waits_beside_the_active_one_unread(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()
    await rest.put_calendar_credentials(user["id"], MINE)

    pending = await rest.put_pending_calendar_credentials(user["id"], THEIRS)

    assert pending.status == "pending" and pending.pending_since
    active = await rest.get_calendar_credentials(user["id"])
    assert active is not None and active.credentials == MINE and active.status == "active"
    assert _credentials(await rest.get_pending_calendar_credentials(user["id"])) == THEIRS


async def test_a_user_with_only_a_pending_account_is_not_connected(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()

    await rest.put_pending_calendar_credentials(user["id"], THEIRS)

    assert await rest.get_calendar_credentials(user["id"]) is None


async def test_confirm_makes_the_pending_account_active_beside_the_default(
    rest: RestClient, api: Api
) -> None:
    user = await api.user()
    await rest.put_calendar_credentials(user["id"], MINE)
    await rest.put_pending_calendar_credentials(user["id"], THEIRS)

    confirmed = await rest.confirm_pending_calendar_credentials(user["id"], max_age_seconds=900)

    assert confirmed is not None and confirmed.credentials == THEIRS
    assert (confirmed.status, confirmed.pending_since) == ("active", None)
    assert (confirmed.account, confirmed.is_default) == ("v@example.com", False)
    assert _credentials(await rest.get_calendar_credentials(user["id"])) == MINE
    theirs = await rest.get_calendar_credentials(user["id"], account="v@example.com")
    assert _credentials(theirs) == THEIRS
    assert await rest.get_pending_calendar_credentials(user["id"]) is None
    assert await rest.confirm_pending_calendar_credentials(user["id"], max_age_seconds=900) is None


@pytest.mark.commits
async def test_two_confirms_at_once_make_one_active_row(rest: RestClient, api: Api) -> None:
    user = await api.user()
    await rest.put_calendar_credentials(user["id"], MINE)
    await rest.put_pending_calendar_credentials(user["id"], THEIRS)

    results = await asyncio.gather(
        *(rest.confirm_pending_calendar_credentials(user["id"], max_age_seconds=900) for _ in "ab")
    )

    assert sorted(r is None for r in results) == [False, True]
    accounts = await rest.list_calendar_accounts(user["id"])
    assert [_credentials(a) for a in accounts] == [MINE, THEIRS]


async def test_an_old_pending_account_cannot_be_confirmed_and_is_dropped(
    rest: RestClient, api: Api, app: FastAPI
) -> None:
    user = await api.user()
    await rest.put_pending_calendar_credentials(user["id"], THEIRS)
    await made_earlier(app, user["id"], 1.1)

    assert await rest.confirm_pending_calendar_credentials(user["id"], max_age_seconds=1) is None

    assert await rest.get_pending_calendar_credentials(user["id"]) is None
    assert await rest.get_calendar_credentials(user["id"]) is None


async def test_expire_drops_old_pending_accounts_and_answers_them(
    rest: RestClient, api: Api, app: FastAPI
) -> None:
    old, fresh = await api.user(), await api.user()
    await rest.put_calendar_credentials(old["id"], MINE)
    await rest.put_pending_calendar_credentials(old["id"], THEIRS)
    await made_earlier(app, old["id"], 1.1)
    await rest.put_pending_calendar_credentials(fresh["id"], THEIRS)

    dropped = await rest.expire_pending_calendar_credentials(max_age_seconds=1)

    assert old["id"] in [str(row.user_id) for row in dropped]
    assert fresh["id"] not in [str(row.user_id) for row in dropped]
    assert await rest.get_pending_calendar_credentials(old["id"]) is None
    assert await rest.get_calendar_credentials(old["id"]) is not None  # the active one stays
    assert await rest.get_pending_calendar_credentials(fresh["id"]) is not None


async def test_decline_deletes_only_the_pending_account(rest: RestClient, api: Api) -> None:
    user = await api.user()
    await rest.put_calendar_credentials(user["id"], MINE)
    await rest.put_pending_calendar_credentials(user["id"], THEIRS)

    assert await rest.delete_pending_calendar_credentials(user["id"]) is True

    assert await rest.delete_pending_calendar_credentials(user["id"]) is False
    assert _credentials(await rest.get_calendar_credentials(user["id"])) == MINE


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["max_age_seconds", "x"]),
            st.one_of(
                st.integers(),
                st.text(max_size=5),
                st.floats(allow_nan=True, allow_infinity=True),
                st.none(),
            ),
            max_size=2,
        ),
    )
)
@example(body={"max_age_seconds": float("inf")})
@example(body={"max_age_seconds": float("nan")})
async def test_any_confirm_body_is_answered_without_a_server_error(
    client: httpx.AsyncClient, service: dict[str, str], body: object
) -> None:
    user = (
        await client.post("/api/users/", headers=service, json={"telegram_id": 4242424242})
    ).json()
    for path in (
        f"/api/users/{user['id']}/calendar-credentials/pending/confirm",
        "/api/users/calendar-credentials/pending/expire",
    ):
        # json.dumps writes NaN and Infinity as clients may; httpx's `json=` refuses them.
        raw = json.dumps(body)
        headers = {**service, "Content-Type": "application/json"}
        response = await client.post(path, headers=headers, content=raw)
        assert response.status_code in (200, 404, 422), (body, response.text)


def _credentials(found: CalendarCredentials | None) -> dict[str, object] | None:
    return None if found is None else dict(found.credentials)
