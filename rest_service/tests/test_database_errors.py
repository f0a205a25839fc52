"""What a client gets when Postgres refuses a statement, seen through rest_service's own
error handlers on real failures of a real database: a bad value is a 422, a broken
constraint a 409, a statement cache behind a pooler a 500 that says which setting to change,
a secret no key opens a 500 naming the key setting, each in the shared error shape."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from common.infrastructure.crypto import SecretBox, generate_key
from rest_service.app.database import STATEMENT_CACHE_FIX, caused_by, create_engine
from rest_service.app.errors import install_error_handlers
from rest_service.app.settings import Settings
from rest_service.tests.conftest import assert_error


def failing_app(engine: AsyncEngine) -> FastAPI:
    """Each route runs one statement Postgres refuses, in its own rolled-back transaction."""
    app = FastAPI()
    install_error_handlers(app)

    async def run(*statements: str) -> None:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))

    @app.get("/bad-value")
    async def bad_value() -> None:
        await run("SELECT 'not a number'::int")

    @app.get("/conflict")
    async def conflict() -> None:
        await run(
            "CREATE TEMP TABLE pair (id int PRIMARY KEY)",
            "INSERT INTO pair VALUES (1), (1)",
        )

    @app.get("/missing-statement")
    async def missing_statement() -> None:
        await run("EXECUTE no_such_prepared_statement")

    @app.get("/missing-table")
    async def missing_table() -> None:
        await run("SELECT * FROM no_such_table_here")

    @app.get("/secret")
    async def secret() -> None:
        SecretBox(generate_key()).decrypt(SecretBox(generate_key()).encrypt("sk-elsewhere"))

    return app


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine(settings)
    transport = httpx.ASGITransport(app=failing_app(engine), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
            yield http
    finally:
        await engine.dispose()


async def test_a_value_postgres_cannot_take_is_a_422_quoting_its_reason(
    client: httpx.AsyncClient,
) -> None:
    body = assert_error(await client.get("/bad-value"), 422, "validation_error")
    assert body["detail"].startswith("invalid value: ")
    assert "not a number" in body["detail"]


async def test_a_broken_constraint_is_a_409(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/conflict"), 409, "conflict")
    assert body["detail"].startswith("conflicts with stored data: duplicate key")


async def test_a_prepared_statement_missing_on_the_connection_names_the_fix(
    client: httpx.AsyncClient,
) -> None:
    body = assert_error(await client.get("/missing-statement"), 500, "internal_error")
    assert "pooler in transaction mode" in body["detail"]
    assert STATEMENT_CACHE_FIX in body["detail"]


async def test_a_secret_no_key_opens_is_a_500_naming_the_key_setting(
    client: httpx.AsyncClient,
) -> None:
    body = assert_error(await client.get("/secret"), 500, "secret_unreadable")
    assert "LLM_MODEL_DECRYPT_KEY" in body["detail"]
    assert "sk-elsewhere" not in body["detail"]


async def test_an_unforeseen_database_error_is_logged_with_its_sqlstate_and_message(
    client: httpx.AsyncClient,
) -> None:
    """The client sees only "internal error"; the log says what Postgres said and which of
    our lines ran the statement, so the cause of a 500 can be found from the log alone."""
    with capture_logs() as events:
        body = assert_error(await client.get("/missing-table"), 500, "internal_error")
    assert body["detail"] == "internal error"
    [logged] = [e for e in events if e["event"] == "unhandled_error"]
    assert logged["sqlstate"] == "42P01"
    assert logged["db_error"] == "UndefinedTableError"
    assert 'relation "no_such_table_here" does not exist' in logged["db_message"]
    assert logged["path"] == "/missing-table"
    assert "test_database_errors.py:" in logged["where"][0]


#: A key-shaped string (made here, so the repository holds none).
KEY = "sk-" + "policy-0123456789abcdef0123456789"
#: A trigger that refuses one user's row the way Postgres refuses a statement no 4xx
#: explains: a PL/pgSQL exception (SQLSTATE P0001) whose message holds a token.
REFUSING_TRIGGER = (
    """
    CREATE FUNCTION refuse_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'users refused by a policy, api_key={key}';
    END $$
    """,
    """
    CREATE TRIGGER refuse_user BEFORE INSERT ON users FOR EACH ROW
      WHEN (NEW.telegram_id = {telegram_id}) EXECUTE FUNCTION refuse_user()
    """,
)


async def test_a_real_route_s_500_logs_the_error_its_message_and_sqlstate_not_its_values(
    app: FastAPI, service: dict[str, str]
) -> None:
    """POST /api/users/ on a real Postgres that refuses the INSERT (a trigger, made in the
    test's rolled-back transaction): the client gets "internal error"; the log line has the
    error's type, its message and what Postgres said, the token in it redacted, and never the
    statement's values (the username, a bound parameter)."""
    telegram_id = uuid.uuid4().int % 10**12 + 1
    async with app.state.app_state.sessions() as session:
        for statement in REFUSING_TRIGGER:
            await session.execute(text(statement.format(telegram_id=telegram_id, key=KEY)))
        await session.commit()
    username = f"u{uuid.uuid4().hex[:12]}"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
        with capture_logs() as events:
            answer = await http.post(
                "/api/users/",
                json={"telegram_id": telegram_id, "username": username},
                headers=service,
            )

    body = assert_error(answer, 500, "internal_error")
    assert body["detail"] == "internal error"
    [logged] = [e for e in events if e["event"] == "unhandled_error"]
    assert logged["path"] == "/api/users/"
    assert logged["sqlstate"] == "P0001" and logged["db_error"] == "RaiseError"
    assert logged["error"] == "DBAPIError"
    said = "users refused by a policy, api_key=[redacted]"
    assert said in logged["message"] and logged["db_message"] == said
    assert "sk-policy" not in str(logged) and username not in str(logged)
    assert any("rest_service/app/" in frame for frame in logged["where"])


def test_a_cause_chain_that_loops_back_on_itself_is_searched_to_an_end() -> None:
    first, second = ValueError("first"), KeyError("second")
    first.__cause__, second.__context__ = second, first
    assert caused_by(first, KeyError)
    assert not caused_by(first, OSError)
