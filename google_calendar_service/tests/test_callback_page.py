"""The page the browser gets back from Google's consent when the code exchange fails, the
service in-process: Google refusing the code is the user's 400 page saying to ask for a new
link; Google unreachable is a 503 page that blames no one in particular."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from google_calendar_service.src.domain.oauth import OAuthStates
from google_calendar_service.src.main import create_app
from ops.infra import free_port
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import calendar_env


@pytest.fixture
def service_env(service_env: dict[str, str], google: GoogleStandIn) -> dict[str, str]:
    return {**service_env, **calendar_env(google)}


async def serving(monkeypatch: pytest.MonkeyPatch, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://calendar") as http:
            yield http


async def a_live_state(redis: aioredis.Redis, names: Names) -> str:
    """A connect link's state as `/auth/url` keeps it (its user is not asked here)."""
    states = OAuthStates(redis, names, 600)
    state = states.new_state()
    await states.remember(state, "00000000-0000-0000-0000-000000000001", "v" * 43)
    return state


async def test_a_code_google_refuses_is_a_page_asking_for_a_new_link(
    settings_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    async for http in serving(monkeypatch):
        state = await a_live_state(redis, names)
        page = await http.get("/auth/callback", params={"code": "4/made-up", "state": state})
    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]
    assert "Please ask for a new link." in page.text


async def test_google_unreachable_is_a_503_page(
    settings_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    down = f"http://127.0.0.1:{free_port()}/token"
    async for http in serving(monkeypatch, GOOGLE_TOKEN_URI=down):
        state = await a_live_state(redis, names)
        page = await http.get("/auth/callback", params={"code": "4/any", "state": state})
    assert page.status_code == 503
    assert "Something went wrong on our side or at Google." in page.text
    assert down not in page.text
