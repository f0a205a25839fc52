"""The rest client against a scripted HTTP server: retries, bearer token, typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from common.errors import NotFoundError, ValidationFailedError
from common.rest_client import RestClient, RestServiceUnavailable
from ops.infra import free_port


class ScriptedServer:
    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, object]]] = []
        self.seen: list[web.Request] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        status, body = self.replies.pop(0) if self.replies else (200, {"ok": True})
        return web.json_response(body, status=status)


@pytest.fixture
async def server() -> AsyncIterator[tuple[ScriptedServer, str]]:
    scripted = ScriptedServer()
    runner = web.AppRunner(scripted.app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield scripted, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_sends_the_bearer_token_and_returns_json(server) -> None:
    scripted, url = server
    async with RestClient(url, "tok") as client:
        assert await client.get_json("/api/x", limit=5, offset=None) == {"ok": True}
    assert scripted.seen[0].headers["Authorization"] == "Bearer tok"
    assert dict(scripted.seen[0].query) == {"limit": "5"}


async def test_retries_503_then_succeeds(server) -> None:
    scripted, url = server
    scripted.replies = [(503, {"detail": "db down"}), (503, {"detail": "db down"})]
    async with RestClient(url, "tok", backoff_s=0.01) as client:
        assert await client.get_json("/api/x") == {"ok": True}
    assert len(scripted.seen) == 3


async def test_503_after_every_retry_is_unavailable(server) -> None:
    scripted, url = server
    scripted.replies = [(503, {"detail": "db down"})] * 4
    async with RestClient(url, "tok", retries=3, backoff_s=0.01) as client:
        with pytest.raises(RestServiceUnavailable, match="db down"):
            await client.get_json("/api/x")


async def test_unreachable_service_is_unavailable() -> None:
    async with RestClient(f"http://127.0.0.1:{free_port()}", "tok", backoff_s=0.01) as client:
        with pytest.raises(RestServiceUnavailable, match="unreachable"):
            await client.get_json("/api/x")


async def test_error_bodies_become_typed_errors(server) -> None:
    scripted, url = server
    scripted.replies = [
        (404, {"error": "not_found", "detail": "user 1 not found", "fields": []}),
        (
            422,
            {
                "error": "validation_error",
                "detail": "invalid",
                "fields": [{"field": "timezone", "reason": "unknown zone"}],
            },
        ),
    ]
    async with RestClient(url, "tok") as client:
        with pytest.raises(NotFoundError, match="user 1 not found"):
            await client.get_json("/api/users/1")
        with pytest.raises(ValidationFailedError) as err:
            await client.put_json("/api/users/1", {"timezone": "Mars/Base"})
    assert err.value.fields[0].field == "timezone"
    assert len(scripted.seen) == 2  # 4xx is not retried
