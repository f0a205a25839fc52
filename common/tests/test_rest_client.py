"""The rest client against a scripted HTTP server: retries, bearer token, typed errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.errors import AppError, NotFoundError, ValidationFailedError
from common.infrastructure.logging import REQUEST_ID_HEADER, correlation
from common.infrastructure.rest_client import UNSET, RestClient, RestServiceUnavailable, _query
from common.infrastructure.wire import User
from ops.infra import free_port


class ScriptedServer:
    def __init__(self) -> None:
        #: (status, body): a dict is sent as JSON, a str as it is (a proxy's error page).
        self.replies: list[tuple[int, dict[str, object] | str]] = []
        self.seen: list[web.Request] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        status, body = self.replies.pop(0) if self.replies else (200, {"ok": True})
        if isinstance(body, str):
            return web.Response(text=body, status=status)
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


async def test_sends_the_bearer_token_and_returns_json(server: tuple[ScriptedServer, str]) -> None:
    scripted, url = server
    async with RestClient(url, "tok") as client:
        assert await client.get_json("/api/x", limit=5, offset=None) == {"ok": True}
    assert scripted.seen[0].headers["Authorization"] == "Bearer tok"
    assert dict(scripted.seen[0].query) == {"limit": "5"}


async def test_retries_503_then_succeeds(server: tuple[ScriptedServer, str]) -> None:
    scripted, url = server
    scripted.replies = [(503, {"detail": "db down"}), (503, {"detail": "db down"})]
    async with RestClient(url, "tok", backoff_s=0.01) as client:
        assert await client.get_json("/api/x") == {"ok": True}
    assert len(scripted.seen) == 3


async def test_503_after_every_retry_is_unavailable(server: tuple[ScriptedServer, str]) -> None:
    scripted, url = server
    scripted.replies = [(503, {"detail": "db down"})] * 4
    async with RestClient(url, "tok", retries=3, backoff_s=0.01) as client:
        with pytest.raises(RestServiceUnavailable, match="db down"):
            await client.get_json("/api/x")


async def test_an_id_that_is_not_a_uuid_is_refused_naming_its_field_and_not_sent(
    server: tuple[ScriptedServer, str],
) -> None:
    """As rest_service would answer it (a 422 naming the field), without the round trip."""
    scripted, url = server
    async with RestClient(url, "tok") as client:
        with pytest.raises(ValidationFailedError) as refused:
            await client.append_tool_invocation("time", ok=True, duration_ms=1, user_id="u1")
    assert [f.field for f in refused.value.fields] == ["user_id"]
    assert scripted.seen == []


async def test_unreachable_service_is_unavailable() -> None:
    async with RestClient(f"http://127.0.0.1:{free_port()}", "tok", backoff_s=0.01) as client:
        with pytest.raises(RestServiceUnavailable, match="unreachable"):
            await client.get_json("/api/x")


async def test_error_bodies_become_typed_errors(server: tuple[ScriptedServer, str]) -> None:
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


async def test_an_error_page_that_is_not_json_still_says_the_status(
    server: tuple[ScriptedServer, str],
) -> None:
    scripted, url = server
    scripted.replies = [(502, "<html>Bad Gateway</html>"), (503, "<html>down</html>")]
    async with RestClient(url, "tok", retries=0) as client:
        with pytest.raises(AppError, match="rest_service answered 502") as err:
            await client.get_json("/api/x")
        assert err.value.status_code == 502
        with pytest.raises(RestServiceUnavailable, match="rest_service answered 503"):
            await client.get_json("/api/x")


async def test_the_probes_ask_once_and_say_what_they_found(
    server: tuple[ScriptedServer, str],
) -> None:
    scripted, url = server
    scripted.replies = [
        (200, {"status": "ok", "checks": {}}),
        (200, {"status": "ready"}),
        (503, {"status": "not_ready", "failing": ["postgres"]}),
    ]
    async with RestClient(url, "tok") as client:
        assert await client.health() == {"status": "ok", "checks": {}}
        await client.ready()
        with pytest.raises(RestServiceUnavailable, match="not ready: 503"):
            await client.ready()
    assert [r.path for r in scripted.seen] == ["/health", "/readyz", "/readyz"]
    async with RestClient(f"http://127.0.0.1:{free_port()}", "tok") as down:
        with pytest.raises(RestServiceUnavailable, match="unreachable"):
            await down.ready()
        with pytest.raises(RestServiceUnavailable, match="unreachable"):
            await down.health()


def test_an_argument_not_given_shows_as_unset() -> None:
    assert repr(UNSET) == "UNSET"


async def test_answers_are_parsed_once_into_wire_models_ignoring_new_fields(
    server: tuple[ScriptedServer, str],
) -> None:
    scripted, url = server
    user = {
        "id": "0b6f2a44-4b1e-4c55-9d6c-2f7d1c9e8a11",
        "telegram_id": 7,
        "username": None,
        "first_name": "Ann",
        "language": None,
        "timezone": "Europe/Berlin",
        "preferred_model": None,
        "blocked": False,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05+00:00",
        "added_by_a_newer_server": True,
    }
    scripted.replies = [(200, user)]
    async with RestClient(url, "tok") as client:
        got = await client.get_user(str(user["id"]))
    assert got == User.model_validate(user)
    assert got.id == uuid.UUID(str(user["id"]))
    assert got.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert not hasattr(got, "added_by_a_newer_server")


async def test_query_parameters_are_sent_as_rest_service_reads_them(
    server: tuple[ScriptedServer, str],
) -> None:
    scripted, url = server
    async with RestClient(url, "tok") as client:
        await client.get_json("/api/x", on=True, off=False, ids=["a", "b"], gone=None, n=3)
    assert list(scripted.seen[0].query.items()) == [
        ("on", "true"), ("off", "false"), ("ids", "a"), ("ids", "b"), ("n", "3"),
    ]  # fmt: skip


async def test_the_handled_messages_id_goes_along_and_a_closed_client_refuses(
    server: tuple[ScriptedServer, str],
) -> None:
    scripted, url = server
    client = RestClient(url, "tok")
    with correlation("msg-42"):
        await client.get_json("/api/x")
    await client.aclose()
    assert scripted.seen[0].headers[REQUEST_ID_HEADER] == "msg-42"
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_json("/api/x")


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20),
    st.lists(st.one_of(st.booleans(), st.integers(), st.text(max_size=10)), max_size=3),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), _VALUES, max_size=6))
def test_query_parameters_are_encoded_as_httpx_encoded_them(params: dict) -> None:
    """The move to aiohttp keeps rest_service's view of every query: None left
    out, booleans as true/false, a list as the parameter repeated, in order."""
    sent = {name: value for name, value in params.items() if value is not None}
    assert _query(params) == list(httpx.QueryParams(sent).multi_items())
