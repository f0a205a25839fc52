"""Whatever a server answers, the client raises one of our typed errors (never PTB's, never a
KeyError), with the status our callers decide by, and without the token."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import telegram.error as ptb
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.warnings import PTBDeprecationWarning

from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramConflict,
    TelegramError,
    TelegramForbidden,
    TelegramMigrateChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramParseError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from tg_bot.src.clients.telegram import TelegramClient, typed_error

TOKEN = "987654:SECRET-token-value"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"ok":true,"result":true}'


class ScriptedServer:
    """Answers every call (any path) with `answer`, whatever it is."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.paths: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        return web.Response(status=self.answer.status, body=self.answer.body)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    found = ScriptedServer()
    await found.start()
    yield found
    await found.stop()


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[TelegramClient]:
    async with TelegramClient(server.url, TOKEN, request_timeout=2.0, retries=0) as found:
        yield found


def envelope(code: int, description: str, **parameters: object) -> bytes:
    body: dict[str, object] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body).encode()


CASES = [
    (429, envelope(429, "Too Many Requests: retry after 7", retry_after=7), TelegramRetryAfter),
    (429, b"", TelegramError),  # no Bot API body: a 429 still, but nothing to wait by
    (429, envelope(429, "Too Many Requests"), TelegramRetryAfter),  # PTB: a NetworkError
    (400, envelope(400, "Bad Request: group chat was upgraded to a supergroup chat",
                   migrate_to_chat_id=-1001234), TelegramMigrateChat),
    (400, envelope(400, "Bad Request: can't parse entities: Unclosed tag"), TelegramParseError),
    (400, envelope(400, "Bad Request: message is not modified"), TelegramBadRequest),
    (401, envelope(401, "Unauthorized"), TelegramUnauthorized),
    (403, envelope(403, "Forbidden: bot was blocked by the user"), TelegramForbidden),
    (404, envelope(404, "Not Found"), TelegramNotFound),
    (409, envelope(409, "Conflict: terminated by other getUpdates request"), TelegramConflict),
    (500, envelope(500, "Internal Server Error"), TelegramServerError),
    (502, b"<html>Bad Gateway</html>", TelegramServerError),
    (200, b"not json", TelegramError),
    (200, b'{"ok": false}', TelegramError),
    (200, b'{"ok": true}', TelegramError),  # no result: PTB would raise a KeyError
    # A flag where a number belongs is no number: the HTTP status decides, no chat moved.
    (400, envelope(True, "Bad Request: odd"), TelegramBadRequest),
    (400, envelope(400, "Bad Request: odd", migrate_to_chat_id=True), TelegramBadRequest),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "kind"), CASES)
async def test_each_answer_is_its_typed_error(client, server, status, body, kind) -> None:
    server.answer = Answer(status, body)
    with pytest.raises(TelegramError) as caught:
        await client.send_message(1, "hi")
    assert type(caught.value) is kind
    assert caught.value.method == "sendMessage"
    if isinstance(caught.value, TelegramRetryAfter):
        assert caught.value.retry_after == (7 if b"retry_after" in body else 1)
    elif isinstance(caught.value, TelegramMigrateChat):
        assert caught.value.new_chat_id == -1001234
    else:
        assert caught.value.status == status


async def test_5xx_is_retried_by_our_policy_not_by_ptb(server) -> None:
    server.answer = Answer(503, envelope(503, "Service Unavailable"))
    async with TelegramClient(server.url, TOKEN, retries=2, retry_backoff_s=0.01) as client:
        with pytest.raises(TelegramServerError):
            await client.send_chat_action(1)  # this method is never retried
        assert len(server.paths) == 1
        with pytest.raises(TelegramServerError):
            await client.send_message(1, "x")
    assert len(server.paths) == 1 + 3


async def test_nothing_listening_is_a_network_error_without_the_token(server) -> None:
    url = server.url
    await server.stop()
    async with TelegramClient(url, TOKEN, request_timeout=1.0, retries=0) as client:
        with pytest.raises(TelegramNetworkError) as caught:
            await client.get_me()
    assert TOKEN not in repr(caught.value) and TOKEN not in str(caught.value)


def retry_after(seconds: int) -> ptb.RetryAfter:
    with warnings.catch_warnings(action="ignore", category=PTBDeprecationWarning):
        return ptb.RetryAfter(dt.timedelta(seconds=seconds))  # its message reads the old int


def test_ptbs_own_errors_map_by_kind() -> None:
    pairs = [
        (retry_after(5), TelegramRetryAfter),
        (ptb.ChatMigrated(-100777), TelegramMigrateChat),
        (ptb.BadRequest("Can't parse entities: bad"), TelegramParseError),
        (ptb.BadRequest("Chat not found"), TelegramBadRequest),
        (ptb.Forbidden("Forbidden: bot was kicked"), TelegramForbidden),
        (ptb.InvalidToken("Not Found"), TelegramUnauthorized),
        (ptb.EndPointNotFound("Endpoint 'x' not found"), TelegramNotFound),
        (ptb.Conflict("Conflict"), TelegramConflict),
        (ptb.TimedOut(), TelegramNetworkError),
        (ptb.NetworkError(f"httpx.ConnectError: {TOKEN}"), TelegramNetworkError),
        (ptb.TelegramError("odd"), TelegramError),
    ]
    for error, kind in pairs:
        found = typed_error("m", error, TOKEN)
        assert type(found) is kind, (error, found)
        assert TOKEN not in str(found)
    retry = typed_error("m", retry_after(5))
    assert isinstance(retry, TelegramRetryAfter) and retry.retry_after == 5
    migrated = typed_error("m", ptb.ChatMigrated(-100777))
    assert isinstance(migrated, TelegramMigrateChat) and migrated.new_chat_id == -100777


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "ok": json_values,
        "error_code": json_values,
        "description": json_values,
        "parameters": st.fixed_dictionaries(
            {}, optional={"retry_after": json_values, "migrate_to_chat_id": json_values}
        )
        | json_values,
        "result": json_values,
    },
)
bodies = st.one_of(
    envelopes.map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=64),
    json_values.map(lambda value: json.dumps(value).encode()),
)
statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(status=statuses, body=bodies)
async def test_any_answer_is_a_result_or_a_typed_error(client, server, status, body) -> None:
    if status == 204:
        body = b""
    server.answer = Answer(status, body)
    for call in (
        lambda: client.send_message(1, "hi"),
        lambda: client.get_updates(None, 0, 100, ["message"]),
        lambda: client.get_file("f"),
        lambda: client.download_file("voice/f.oga"),
    ):
        try:
            await call()
        except TelegramError as exc:
            assert TOKEN not in str(exc)
            if 200 <= status <= 299:
                continue
            if isinstance(exc, TelegramRetryAfter):
                assert 0 <= exc.retry_after < 86_400
            elif not isinstance(exc, TelegramMigrateChat | TelegramNetworkError):
                assert exc.status != 200


def result(value: object) -> bytes:
    return json.dumps({"ok": True, "result": value}).encode()


ODD_RESULTS = [
    ("getMe", lambda c: c.get_me(), result([1, 2])),
    ("getMe", lambda c: c.get_me(), result(None)),
    ("getWebhookInfo", lambda c: c.get_webhook_info(), result(None)),
    ("getUpdates", lambda c: c.get_updates(None, 0, 100, ["message"]), result({"a": 1})),
    ("getUpdates", lambda c: c.get_updates(None, 0, 100, ["message"]), result([{"a": 1}])),
    ("getUpdates", lambda c: c.get_updates(None, 0, 100, ["message"]),
     result([{"update_id": True}])),
    ("getWebhookInfo", lambda c: c.get_webhook_info(), result("set")),
    ("getFile", lambda c: c.get_file("f"), result({"file_id": ["f"]})),
    ("sendMessage", lambda c: c.send_message(1, "hi"), result(True)),
]  # fmt: skip


@pytest.mark.parametrize(("method", "call", "body"), ODD_RESULTS)
async def test_a_result_of_the_wrong_shape_is_an_error_of_that_call(
    client, server, method, call, body
) -> None:
    """Telegram said ok, but what came back is not what the method returns."""
    server.answer = Answer(200, body)
    with pytest.raises(TelegramError) as raised:
        await call(client)
    assert (raised.value.method, raised.value.status) == (method, 200)


async def test_a_client_outside_its_context_refuses_to_call(server) -> None:
    client = TelegramClient(server.url, TOKEN)
    with pytest.raises(RuntimeError, match="async with"):
        await client.get_me()
    assert server.paths == []
