"""Input Postgres cannot store and a database that is not there: a clear 422 naming the
field (without the value in the log), and a 503 like a server that is down.

schemathesis (test_schemathesis.py) encodes its strings as UTF-8, so it never sends a lone
surrogate (`"\\ud800"` in JSON); the property test here sends them, and NUL, in string and
JSON-object fields through the real app and Postgres."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from structlog.testing import capture_logs

from rest_service.app import errors
from rest_service.app.main import create_app
from rest_service.app.settings import Settings
from rest_service.tests.conftest import assert_error, telegram_id, unique

HOSTILE = ("\x00", "\ud800", "\udfff", "\udc80")
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Bodies whose every string comes from the test: (path, body builder, the fields it fills).
Body = Callable[[str, str], dict[str, Any]]
BODIES: list[tuple[str, Body]] = [
    ("/api/assistants/", lambda a, b: {"name": unique("a") + a, "instructions": b}),
    (
        "/api/tools/",
        lambda a, b: {
            "name": unique("t"),
            "tool_type": "time",
            "input_schema": {"type": "object", "description": a, "properties": {b: {}}},
        },
    ),
    ("/api/users/", lambda a, b: {"telegram_id": telegram_id(), "username": a, "first_name": b}),
]


async def post_raw(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict
) -> httpx.Response:
    """JSON as a client library writes it: a lone surrogate becomes the escape `\\ud800`."""
    content = json.dumps(body, ensure_ascii=True)
    return await client.post(
        path, content=content, headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(("path", "build"), BODIES, ids=[p for p, _ in BODIES])
async def test_a_lone_surrogate_in_a_body_is_a_422_naming_the_field_and_not_logged(
    client, admin, path: str, build: Body
) -> None:
    with capture_logs() as logs:
        response = await post_raw(client, path, build("ok", "secret-\ud800-text"), admin)
    error = assert_error(response, 422, "validation_error")
    fields = [f["field"] for f in error["fields"]]
    assert fields and all("[" not in field for field in fields), fields
    assert "secret-" not in repr(logs) and "secret-" not in response.text


async def test_a_lone_surrogate_names_the_json_field_it_is_in(client, admin) -> None:
    response = await post_raw(client, "/api/tools/", BODIES[1][1]("\udfff", "x"), admin)
    assert [f["field"] for f in assert_error(response, 422)["fields"]] == ["input_schema"]


#: Characters joined by hand: `st.text` would leave lone surrogates out.
_TEXT = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.characters(exclude_categories=())), max_size=24
).map("".join)


def _unstorable(text: str) -> bool:
    """NUL, or a surrogate left alone once JSON has paired a high one with a low one after it
    (`"\\ud800\\udc00"` is one valid character)."""
    paired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return "\x00" in paired or any("\ud800" <= char <= "\udfff" for char in paired)


def test_a_high_and_a_low_surrogate_side_by_side_are_one_storable_character() -> None:
    assert not _unstorable("\ud800\udc00") and _unstorable("\udc00\ud800")


@PROPERTY
@given(index=st.integers(0, len(BODIES) - 1), first=_TEXT, second=_TEXT)
async def test_any_text_in_a_body_is_stored_or_a_422_never_a_500(
    client, admin, index: int, first: str, second: str
) -> None:
    path, build = BODIES[index]
    response = await post_raw(client, path, build(first, second), admin)
    assert response.status_code in (200, 201, 409, 422), response.text
    if _unstorable(first) or _unstorable(second):
        assert response.status_code == 422, response.text
        assert assert_error(response, 422)["fields"]


async def test_a_missing_database_is_503_like_a_down_server(
    settings: Settings, database_url: str, admin
) -> None:
    # On Postgres itself: the tests' PgBouncer (tests/harness.py) answers for a missing
    # database in words of its own.
    missing = database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    app = create_app(settings.model_copy(update={"async_database_url": missing}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
            for method, path, body in (
                ("GET", "/api/users/", None),
                ("POST", "/api/users/", {"telegram_id": telegram_id()}),
                ("GET", "/api/config", None),
            ):
                response = await http.request(method, path, json=body, headers=admin)
                detail = assert_error(response, 503, "service_unavailable")["detail"]
                assert "database unavailable" in detail
            health = (await http.get("/health")).json()
            assert health["status"] == "degraded" and health["postgres"] == "down"


async def test_text_a_validator_let_through_is_a_422_logged_without_its_content() -> None:
    """The last line of defence, for a field some future model forgets to type as `Text`:
    the driver's failure to encode it is bad input, and its message (which quotes the
    value) stays out of the log."""
    try:
        try:
            "secret-\ud800".encode()
        except UnicodeEncodeError as exc:
            raise ValueError("invalid input for query argument $1: 'secret-\\ud800'") from exc
    except ValueError as failure:
        error = failure
    request = Request({"type": "http", "method": "POST", "path": "/api/x", "headers": []})
    with capture_logs() as logs:
        response = await errors._unexpected(request, error)
    assert response.status_code == 422
    assert json.loads(bytes(response.body))["error"] == "validation_error"
    assert "secret-" not in repr(logs)
