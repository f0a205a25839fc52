"""Both FastAPI services answer a failure alike (common/infrastructure/web.py): the same error body,
the same field-name rule, the same 401 and 403."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from common.infrastructure import service_tokens
from google_calendar_service.src.main import create_app as create_calendar_app
from rest_service.app.main import app as rest_app
from tests.harness import REST_LOOPS_OFF

CRON_TOKEN = f"cron-{uuid.uuid4().hex}"
USER = uuid.uuid4()

Ask = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    """A scoped token both services know and neither lets through everywhere: cron_service's
    reads no secret and calls no calendar."""
    return {
        **service_env,
        **REST_LOOPS_OFF,  # in-process apps: their loops would race the test, not tested here
        service_tokens.env_name("cron_service"): CRON_TOKEN,
    }


async def _serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


@pytest.fixture
async def rest(settings_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    # The module's app (its routes built once a worker), on this test's settings.
    async for http in _serving(rest_app):
        yield http


@pytest.fixture
async def calendar(settings_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _serving(create_calendar_app()):
        yield http


@pytest.fixture
def service(settings_env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings_env['SERVICE_API_TOKEN']}"}


async def test_an_unknown_route_is_the_same_404(
    rest: httpx.AsyncClient, calendar: httpx.AsyncClient, service: dict[str, str]
) -> None:
    answers = [await http.get("/no/such/route", headers=service) for http in (rest, calendar)]
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json() == {"error": "not_found", "detail": "Not Found", "fields": []}


async def test_a_body_that_is_not_json_is_the_same_422(
    rest: httpx.AsyncClient, calendar: httpx.AsyncClient, service: dict[str, str]
) -> None:
    headers = {**service, "Content-Type": "application/json"}
    from_rest = await rest.put(f"/api/users/{USER}", content=b"{not json", headers=headers)
    from_calendar = await calendar.post(f"/events/{USER}", content=b"{not json", headers=headers)
    assert from_rest.status_code == from_calendar.status_code == 422
    assert from_rest.json()["error"] == "validation_error"
    assert from_rest.json() == from_calendar.json()


async def test_an_invalid_field_is_named_by_the_same_rule(
    rest: httpx.AsyncClient, calendar: httpx.AsyncClient, service: dict[str, str]
) -> None:
    """A path parameter is named `user_id` by both, not `path.user_id` by one of them."""
    from_rest = await rest.get("/api/users/not-a-uuid", headers=service)
    from_calendar = await calendar.get("/auth/status/not-a-uuid", headers=service)
    assert from_rest.status_code == from_calendar.status_code == 422
    assert [f["field"] for f in from_rest.json()["fields"]] == ["user_id"]
    assert from_rest.json() == from_calendar.json()


@pytest.mark.parametrize("token", [None, "not-a-known-token"])
async def test_no_token_or_an_unknown_one_is_the_same_401(
    rest: httpx.AsyncClient, calendar: httpx.AsyncClient, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers = [
        await rest.get(f"/api/users/{USER}", headers=headers),
        await calendar.get(f"/auth/status/{USER}", headers=headers),
    ]
    detail = "unknown token" if token else "missing bearer token"
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json() == {"error": "unauthorized", "detail": detail, "fields": []}


async def test_a_known_token_without_the_right_is_the_same_403(
    rest: httpx.AsyncClient, calendar: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {CRON_TOKEN}"}
    answers = [
        await rest.get(f"/api/llm-providers/{USER}/api-key", headers=headers),
        await calendar.get(f"/auth/status/{USER}", headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 403
        assert "WWW-Authenticate" not in answer.headers
        body = answer.json()
        assert (body["error"], body["fields"]) == ("forbidden", [])
        assert body["detail"].startswith("the cron_service service token may not ")


async def test_the_calendar_service_keeps_its_callback_probes_and_docs_open(
    calendar: httpx.AsyncClient,
) -> None:
    """Its routes need a token, not the paths a browser or a probe reaches without one."""
    assert (await calendar.get("/auth/callback")).status_code == 400  # no state: refused page
    for path in ("/health", "/metrics", "/docs", "/openapi.json"):
        assert (await calendar.get(path)).status_code == 200, path
