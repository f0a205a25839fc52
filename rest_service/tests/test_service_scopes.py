"""Scoped service tokens: tg_bot's token reads bot tokens only, the
assistant's reads provider keys only, google_calendar_service's calendar credentials only,
cron_service's none; SERVICE_API_TOKEN keeps every right it had."""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure import service_tokens
from common.infrastructure.service_tokens import Right
from rest_service.tests.conftest import Api, assert_error

SCOPED = {name: f"{name}-{uuid.uuid4().hex}" for name in service_tokens.SCOPES}


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    """rest_service as deployed with every service's own token."""
    scoped = {service_tokens.env_name(name): token for name, token in SCOPED.items()}
    return {**service_env, **scoped}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def secrets_of(api: Api) -> dict[Right, str]:
    """A provider with a key, a user with calendar credentials and a bot: a path per secret."""
    provider = await api.provider(api_key="sk-secret-provider-key-1234")
    assistant = await api.assistant()
    bot_body = {"name": "scoped", "assistant_id": assistant["id"], "token": "123:" + "A" * 30}
    bot = await api.ok("POST", "/api/bots/", api.admin, json=bot_body)
    user = await api.user()
    path = f"/api/users/{user['id']}/calendar-credentials"
    body = {"credentials": {"token": "ya29.x", "refresh_token": "1//y"}}
    await api.ok("PUT", path, api.service, json=body)
    return {
        Right.provider_keys: f"/api/llm-providers/{provider['id']}/api-key",
        Right.calendar_credentials: path,
        Right.bot_tokens: f"/api/bots/{bot['id']}/token",
    }


@pytest.mark.parametrize("scope", sorted(service_tokens.SCOPES))
async def test_a_scoped_token_reads_only_the_secrets_its_service_needs(
    client: httpx.AsyncClient, secrets_of: dict[Right, str], scope: str
) -> None:
    headers = _bearer(SCOPED[scope])
    for right, path in secrets_of.items():
        response = await client.get(path, headers=headers)
        if right in service_tokens.SCOPES[scope]:
            assert response.status_code == 200, (scope, path, response.text)
        else:
            assert "may not read" in assert_error(response, 403, "forbidden")["detail"]


async def test_tg_bots_token_reads_no_provider_key_nor_anyones_calendar(
    client: httpx.AsyncClient, secrets_of: dict[Right, str]
) -> None:
    """The attack: tg_bot's token used to be the shared one, which read both."""
    for right, path in secrets_of.items():
        if right == Right.bot_tokens:
            continue
        assert (await client.get(path, headers=_bearer(SCOPED["tg_bot"]))).status_code == 403
    credentials = secrets_of[Right.calendar_credentials]
    for method in ("PUT", "DELETE"):
        body = {"credentials": {"token": "attacker"}} if method == "PUT" else None
        response = await client.request(
            method, credentials, json=body, headers=_bearer(SCOPED["tg_bot"])
        )
        assert response.status_code == 403, response.text


async def test_the_shared_token_keeps_every_right(
    api: Api, client: httpx.AsyncClient, secrets_of: dict[Right, str]
) -> None:
    for path in secrets_of.values():
        assert (await client.get(path, headers=api.service)).status_code == 200


@pytest.mark.parametrize("scope", sorted(service_tokens.SCOPES))
async def test_a_scoped_token_does_what_every_service_token_does(
    client: httpx.AsyncClient, api: Api, scope: str
) -> None:
    headers = _bearer(SCOPED[scope])
    assert (await client.get("/api/config", headers=headers)).status_code == 200
    body = {"telegram_id": uuid.uuid4().int % 10**12 + 1}
    assert (await client.post("/api/users/", json=body, headers=headers)).status_code == 201
    response = await client.post("/api/assistants/", json={"name": "x"}, headers=headers)
    assert_error(response, 403, "forbidden")  # admin routes stay the admin's


_ALPHABET = st.sampled_from("abcdef0123456789-_")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scope=st.sampled_from(sorted(service_tokens.SCOPES)),
    cut=st.integers(1, 8),
    extra=st.text(_ALPHABET, max_size=3),
)
async def test_a_token_near_a_scoped_one_is_unknown(
    client: httpx.AsyncClient, scope: str, cut: int, extra: str
) -> None:
    near = SCOPED[scope][:-cut] + extra
    response = await client.get("/api/config", headers=_bearer(near))
    if near == SCOPED[scope]:
        assert response.status_code == 200
    else:
        assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("scope", sorted(service_tokens.SCOPES))
async def test_only_a_scope_with_the_identities_right_acts_for_a_channels_sender(
    client: httpx.AsyncClient, scope: str
) -> None:
    """Linking merges two people's data: only tg_bot (and the channels service) may."""
    body = {"channel": "web", "external_id": f"visitor-{uuid.uuid4().hex}"}
    response = await client.post(
        "/api/users/by-identity", json=body, headers=_bearer(SCOPED[scope])
    )
    if Right.identities in service_tokens.SCOPES[scope]:
        assert response.status_code == 201, response.text
    else:
        assert "may not link" in assert_error(response, 403, "forbidden")["detail"]
