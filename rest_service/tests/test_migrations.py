"""Models and the one Alembic history agree, and the history runs both ways."""

from __future__ import annotations

import json

import psycopg2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from common.infrastructure.postgres_url import sync_url
from common.infrastructure.wire import mcp_config_error
from ops.infra import migrate
from rest_service.app import models  # noqa: F401  (registers the tables)

pytestmark = pytest.mark.e2e


def _connect(url: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(sync_url(url).replace("postgresql+psycopg2://", "postgresql://"))


def _tables(url: str) -> set[str]:
    conn = _connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = {row[0] for row in cur.fetchall()}
    conn.close()
    return names


def _columns(url: str, table: str) -> set[str]:
    conn = _connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
        )
        names = {row[0] for row in cur.fetchall()}
    conn.close()
    return names


def _rows_before_0006(url: str) -> None:
    """A provider, a model and a user as a 0005 database holds them."""
    conn = _connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO llm_providers (id, name, base_url, is_active)"
            " VALUES (gen_random_uuid(), 'p', 'http://127.0.0.1:9/v1', true) RETURNING id"
        )
        (provider_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO llm_models (id, provider_id, provider_model_name, is_default,"
            " is_fallback, is_active)"
            " VALUES (gen_random_uuid(), %s, 'old-model', true, false, true)",
            [provider_id],
        )
        cur.execute(
            "INSERT INTO users (id, telegram_id, blocked) VALUES (gen_random_uuid(), 7, false)"
        )
    conn.close()


def test_autogenerate_finds_nothing_to_change(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database: str) -> None:
    migrate(empty_database, "upgrade", "head")
    expected = set(SQLModel.metadata.tables) | {"alembic_version"}
    assert _tables(empty_database) == expected
    migrate(empty_database, "downgrade", "base")
    assert _tables(empty_database) == {"alembic_version"}
    migrate(empty_database, "upgrade", "head")
    assert _tables(empty_database) == expected


def test_0006_gives_existing_models_chat_and_users_no_voice_and_goes_back(
    empty_database: str,
) -> None:
    migrate(empty_database, "upgrade", "0005")
    _rows_before_0006(empty_database)
    migrate(empty_database, "upgrade", "0006")
    conn = _connect(empty_database)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT capabilities FROM llm_models WHERE provider_model_name = 'old-model'")
        assert cur.fetchone() == (["chat"],)
        cur.execute("SELECT voice_replies FROM users WHERE telegram_id = 7")
        assert cur.fetchone() == (False,)
    for stored in ("[]", '["chat", "fly"]', '"chat"'):
        with pytest.raises(psycopg2.errors.CheckViolation), conn, conn.cursor() as cur:
            cur.execute("UPDATE llm_models SET capabilities = %s::jsonb", [stored])
    conn.close()
    migrate(empty_database, "downgrade", "0005")
    assert "capabilities" not in _columns(empty_database, "llm_models")
    assert "voice_replies" not in _columns(empty_database, "users")
    migrate(empty_database, "upgrade", "head")
    assert {"capabilities"} <= _columns(empty_database, "llm_models")


def test_0023_adds_api_clients_with_a_key_hash_and_no_key_and_goes_back(
    empty_database: str,
) -> None:
    migrate(empty_database, "upgrade", "0022")
    assert "api_clients" not in _tables(empty_database)
    migrate(empty_database, "upgrade", "0023")
    columns = _columns(empty_database, "api_clients")
    assert {"key_prefix", "key_hash", "revoked_at", "allowed_assistants"} <= columns
    assert "key" not in columns
    conn = _connect(empty_database)
    insert = (
        "INSERT INTO api_clients (id, name, allowed_assistants, per_minute_limit, daily_limit,"
        " key_prefix, key_hash) VALUES (gen_random_uuid(), %s, '[]', 0, 0, 'sa_x', %s)"
    )
    with conn, conn.cursor() as cur:
        cur.execute(insert, ["a", "h1"])
    with pytest.raises(psycopg2.errors.UniqueViolation), conn, conn.cursor() as cur:
        cur.execute(insert, ["a", "h2"])
    conn.close()
    migrate(empty_database, "downgrade", "0022")
    assert "api_clients" not in _tables(empty_database)
    migrate(empty_database, "upgrade", "head")
    assert "api_clients" in _tables(empty_database)


def test_0024_gives_api_clients_a_secret_column_and_their_own_deliveries_and_goes_back(
    empty_database: str,
) -> None:
    migrate(empty_database, "upgrade", "0023")
    conn = _connect(empty_database)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO api_clients (id, name, allowed_assistants, per_minute_limit,"
            " daily_limit, key_prefix, key_hash)"
            " VALUES (gen_random_uuid(), 'old', '[]', 0, 0, 'sa_x', 'h') RETURNING id"
        )
        (client_id,) = cur.fetchone()
    migrate(empty_database, "upgrade", "0024")
    assert {"webhook_secret_encrypted", "webhook_secret_masked"} <= _columns(
        empty_database, "api_clients"
    )
    assert {"api_client_id", "queued_at"} <= _columns(empty_database, "webhook_deliveries")
    delivery = (
        "INSERT INTO webhook_deliveries (id, api_client_id, target, event, event_id,"
        " occurred_at, payload, status, attempts, next_attempt_at)"
        " VALUES (gen_random_uuid(), %s, %s, 'message.answered', %s, now(), '{}', 'pending',"
        " 0, now())"
    )
    event_id = "00000000-0000-0000-0000-000000000001"
    with conn, conn.cursor() as cur:
        cur.execute("SELECT webhook_secret_encrypted FROM api_clients WHERE id = %s", [client_id])
        assert cur.fetchone() == (None,)  # made before: none until an admin makes one
        cur.execute(delivery, [client_id, "api_client", event_id])
        cur.execute(delivery, [None, "bitrix24", event_id])  # no collision with Bitrix24's
    with pytest.raises(psycopg2.errors.UniqueViolation), conn, conn.cursor() as cur:
        cur.execute(delivery, [client_id, "api_client", event_id])
    conn.close()
    migrate(empty_database, "downgrade", "0023")
    assert "api_client_id" not in _columns(empty_database, "webhook_deliveries")
    assert "webhook_secret_encrypted" not in _columns(empty_database, "api_clients")
    migrate(empty_database, "upgrade", "head")


def test_0011_moves_stored_mcp_commands_out_of_reach_and_turns_those_tools_off(
    empty_database: str,
) -> None:
    """A tool that held a command (the attack, or an admin's real server) keeps its name and
    the command as a record, turned off and naming a server the operator can list."""
    migrate(empty_database, "upgrade", "0010")
    rows = {
        "Files Server!": {"transport": "stdio", "command": ["sh", "-c", "id"]},
        "remote": {"transport": "http", "url": "https://mcp.example/", "command": ["x"]},
        "clean": {"transport": "http", "url": "https://mcp.example/"},
    }
    conn = _connect(empty_database)
    with conn, conn.cursor() as cur:
        for name, config in rows.items():
            cur.execute(
                "INSERT INTO tools (id, name, tool_type, description, is_active, input_schema,"
                " config) VALUES (gen_random_uuid(), %s, 'mcp', '', true, '{}', %s::jsonb)",
                [name, json.dumps(config)],
            )
    migrate(empty_database, "upgrade", "0011")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT name, config, is_active FROM tools ORDER BY name")
        found = {name: (config, active) for name, config, active in cur.fetchall()}
    conn.close()
    files = {"transport": "stdio", "server": "files-server", "former_command": ["sh", "-c", "id"]}
    assert found == {
        "Files Server!": (files, False),
        "remote": ({"transport": "http", "url": "https://mcp.example/"}, True),
        "clean": (rows["clean"], True),
    }
    assert mcp_config_error(files, {"files-server"}) is None
    migrate(empty_database, "downgrade", "0010")
    migrate(empty_database, "upgrade", "head")


def test_0025_adds_the_tasks_table_and_goes_back(empty_database: str) -> None:
    migrate(empty_database, "upgrade", "0025")
    assert {"title", "deadline", "priority", "status", "reminder_job_id"} <= _columns(
        empty_database, "tasks"
    )
    migrate(empty_database, "downgrade", "0024")
    assert "tasks" not in _tables(empty_database)
    migrate(empty_database, "upgrade", "head")
    assert "tasks" in _tables(empty_database)


def test_0026_lets_a_model_make_images_and_goes_back(empty_database: str) -> None:
    migrate(empty_database, "upgrade", "0025")
    _rows_before_0006(empty_database)
    migrate(empty_database, "upgrade", "0026")
    conn = _connect(empty_database)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT provider_id FROM llm_models WHERE provider_model_name = 'old-model'")
        (provider_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO llm_models (id, provider_id, provider_model_name, is_default,"
            " is_fallback, is_active, capabilities) VALUES (gen_random_uuid(), %s, %s,"
            " false, false, true, %s)",
            [provider_id, "painter", json.dumps(["image"])],
        )
        cur.execute(
            'UPDATE llm_models SET capabilities = \'["chat", "image"]\''
            " WHERE provider_model_name = 'old-model'"
        )
    conn.close()
    migrate(empty_database, "downgrade", "0025")
    conn = _connect(empty_database)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT provider_model_name, capabilities, is_active FROM llm_models"
            " ORDER BY provider_model_name"
        )
        assert cur.fetchall() == [("old-model", ["chat"], True), ("painter", ["chat"], False)]
    conn.close()
    migrate(empty_database, "upgrade", "head")


def test_0029_adds_thread_summaries_and_goes_back(empty_database: str) -> None:
    migrate(empty_database, "upgrade", "0029")
    assert {"thread_id", "conversation_key", "content", "covers_message_id"} <= _columns(
        empty_database, "thread_summaries"
    )
    migrate(empty_database, "downgrade", "0028")
    assert "thread_summaries" not in _tables(empty_database)
    migrate(empty_database, "upgrade", "head")
    assert "thread_summaries" in _tables(empty_database)
