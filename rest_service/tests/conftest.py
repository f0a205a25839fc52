"""rest_service test fixtures: the app in-process (httpx + its lifespan) on the session's
migrated database and this test's Redis prefix, the two tokens, and a small API helper
that makes rows through the public endpoints."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel

from common.infrastructure.rest_client import RestClient
from common.infrastructure.serve import served_in_this_loop
from ops.infra import free_port
from rest_service.app import main as rest_main
from rest_service.app.settings import Settings
from rest_service.app.state import AppState
from tests.harness import REST_LOOPS_OFF


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """rest_service's background loops off (tests/harness.py); test_retention.py and
    test_webhooks.py run them with settings of their own."""
    for name, value in REST_LOOPS_OFF.items():
        monkeypatch.setenv(name, value)
    return {**settings_env, **REST_LOOPS_OFF}


@pytest.fixture
def settings(settings_env: dict[str, str]) -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def shared_app() -> FastAPI:
    """One app object for the session: FastAPI builds its routes on the first request,
    which costs more than most tests; each test still runs its own lifespan. It is the
    module's `app`, whose OpenAPI document the contract tests read (built once, too)."""
    return rest_main.app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "commits: the test needs real commits (concurrent requests, or another process reads "
        "what it wrote), so it runs outside the rolled-back transaction",
    )


@pytest.fixture
async def app(
    shared_app: FastAPI, settings_env: dict[str, str], request: pytest.FixtureRequest
) -> AsyncIterator[FastAPI]:
    """The app with fresh state (engine, Redis, caches) built from this test's settings. Its
    units of work (and the admin's reads) join one transaction rolled back after the test,
    as savepoints, so each test sees only its own rows and counts exactly."""
    async with shared_app.router.lifespan_context(shared_app):
        if request.node.get_closest_marker("commits"):
            yield shared_app
            return
        async with rolled_back(shared_app):
            yield shared_app


@asynccontextmanager
async def rolled_back(app: FastAPI) -> AsyncIterator[None]:
    """Starts from empty tables (the emptying is rolled back too), so rows other tests
    committed, or processes started on the session's database, never count."""
    state: AppState = app.state.app_state
    async with state.engine.connect() as connection:
        outer = await connection.begin()
        await connection.execute(text(_emptying()))
        state.sessions = async_sessionmaker(
            connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        app.state.admin.session_maker.configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        try:
            yield
        finally:
            await outer.rollback()


@functools.cache
def _emptying() -> str:
    """One round trip that deletes every row, children before parents. A DELETE of the few
    rows the tables hold costs far less than a TRUNCATE, which makes new files for every
    table and index and removes them again at the rollback (about 0.1 s a test)."""
    tables = reversed(SQLModel.metadata.sorted_tables)
    deletes = " ".join(f'DELETE FROM "{table.name}";' for table in tables)
    return f"DO $$BEGIN {deletes} END$$"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
        yield http


@pytest.fixture
async def rest(app: FastAPI, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    """The client against the test's app served by uvicorn in this event loop (its lifespan
    is the `app` fixture's, its writes in the test's rolled-back transaction)."""
    async with (
        served_in_this_loop(app, free_port(), lifespan="off") as url,
        RestClient(url, secrets["SERVICE_API_TOKEN"]) as client,
    ):
        yield client


@pytest.fixture
def admin(secrets: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}


@pytest.fixture
def service(secrets: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def telegram_id() -> int:
    return uuid.uuid4().int % 10**12 + 1


OBJECT_SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


class Api:
    """Makes rows through the API (asserting it worked) so each test states only its point."""

    def __init__(self, http: httpx.AsyncClient, admin: dict[str, str], service: dict[str, str]):
        self.http = http
        self.admin = admin
        self.service = service

    async def ok(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await self.http.request(method, path, headers=headers, **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def names(self, path: str) -> set[str]:
        """The names of the rows a list endpoint gives the admin (up to 1000)."""
        return {row["name"] for row in await self.ok("GET", f"{path}?limit=1000", self.admin)}

    async def provider(self, **fields: Any) -> dict[str, Any]:
        body = {"name": unique("provider"), "base_url": "http://llm.test/v1", **fields}
        return await self.ok("POST", "/api/llm-providers/", self.admin, json=body)

    async def model(self, provider_id: str | None = None, **fields: Any) -> dict[str, Any]:
        provider_id = provider_id or (await self.provider())["id"]
        body = {"provider_id": provider_id, "provider_model_name": unique("model"), **fields}
        return await self.ok("POST", "/api/llm-models/", self.admin, json=body)

    async def assistant(self, **fields: Any) -> dict[str, Any]:
        body = {"name": unique("assistant"), "instructions": "Be brief.", **fields}
        return await self.ok("POST", "/api/assistants/", self.admin, json=body)

    async def tool(self, **fields: Any) -> dict[str, Any]:
        body = {"name": unique("tool"), "tool_type": "time", "input_schema": OBJECT_SCHEMA}
        return await self.ok("POST", "/api/tools/", self.admin, json={**body, **fields})

    async def link(self, assistant_id: str, tool_id: str) -> dict[str, Any]:
        path = f"/api/assistants/{assistant_id}/tools/{tool_id}"
        return await self.ok("POST", path, self.admin)

    async def user(self, **fields: Any) -> dict[str, Any]:
        body = {"telegram_id": telegram_id(), "username": "ann", **fields}
        return await self.ok("POST", "/api/users/", self.service, json=body)

    async def thread(self, conversation: str, assistant_id: str | None = None) -> dict[str, Any]:
        assistant_id = assistant_id or (await self.assistant())["id"]
        body = {"user_id": conversation, "assistant_id": assistant_id}
        return await self.ok("POST", "/api/threads/", self.service, json=body)

    async def say(self, thread_id: str, content: str | None, role: str = "user", **kw: Any) -> Any:
        body = {"role": role, "content": content, **kw}
        path = f"/api/threads/{thread_id}/messages"
        return await self.ok("POST", path, self.service, json=body)

    async def job(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "water",
            "chat_id": 42,
            "text": "drink water",
            "cron_expression": "0 9 * * *",
        }
        return await self.ok("POST", "/api/cron-jobs/", self.service, json={**body, **fields})

    async def version(self) -> int:
        return (await self.ok("GET", "/api/config/version", self.service))["version"]


@pytest.fixture
def api(client: httpx.AsyncClient, admin: dict[str, str], service: dict[str, str]) -> Api:
    return Api(client, admin, service)


def unreachable(settings: Settings, **update: Any) -> Settings:
    """`settings` with `update` and a Postgres at a port nothing listens on: a replica whose
    database is down."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"
    return settings.model_copy(update={**update, "async_database_url": url})


def assert_error(response: httpx.Response, status: int, error: str | None = None) -> dict:
    """Every error has our shape; `error` checks its type."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    if error is not None:
        assert body["error"] == error, body
    return body


@asynccontextmanager
async def channel(
    redis: aioredis.Redis, name: str
) -> AsyncIterator[Callable[[int], Awaitable[list[bytes]]]]:
    """Subscribed to channel `name` for the block: `await heard(n)` is the next n messages'
    data (each within 2 s, or the test fails saying what came)."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(name)
    await pubsub.get_message(timeout=1)

    async def heard(count: int) -> list[bytes]:
        found: list[bytes] = []
        while len(found) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
            assert message is not None, found
            found.append(message["data"])
        return found

    try:
        yield heard
    finally:
        await pubsub.aclose()
