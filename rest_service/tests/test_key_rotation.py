"""Master key rotation: `./manage.py rotate-key` (python -m rest_service.rotate_key) with
old and new keys re-encrypts provider keys and calendar credentials under the new one, in
one transaction and idempotently; rest_service then starts with the new key alone."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest

from common.infrastructure.crypto import SecretBox, generate_key
from common.infrastructure.postgres_url import sync_url
from ops.processes import Stack, measured
from ops.services import ROOT
from rest_service import rotate_key
from tests.harness import MigratedDatabases, base_env

pytestmark = pytest.mark.e2e

OLD, NEW = generate_key(), generate_key()
PROVIDER_KEY = f"sk-rotate-{uuid.uuid4().hex}"
BOT_TOKEN = "123456789:AAH-rotated-bot-token-0123456789"
CREDENTIALS = {"token": f"ya29.{uuid.uuid4().hex}", "refresh_token": "1//r"}


@pytest.fixture
def own_database(migrated_databases: MigratedDatabases) -> Iterator[str]:
    """A database of this test's own: a rotation rewrites every row it holds."""
    url = migrated_databases.create()
    try:
        yield url
    finally:
        migrated_databases.drop(url)


def _env(database: str, redis_url: str, prefix: str, secrets: dict, key: str) -> dict[str, str]:
    return base_env(database, redis_url, prefix, {**secrets, "LLM_MODEL_DECRYPT_KEY": key})


def _rotate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rest_service.rotate_key"],
        env=measured({"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _headers(secrets: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets[name]}"}


async def _store_secrets(url: str, secrets: dict[str, str]) -> tuple[str, str, str]:
    admin, service = _headers(secrets, "ADMIN_API_TOKEN"), _headers(secrets, "SERVICE_API_TOKEN")
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        body = {"name": "rotated", "base_url": "http://llm.test/v1", "api_key": PROVIDER_KEY}
        provider = (await http.post("/api/llm-providers/", json=body, headers=admin)).json()
        user = (await http.post("/api/users/", json={"telegram_id": 4242}, headers=service)).json()
        path = f"/api/users/{user['id']}/calendar-credentials"
        stored = await http.put(path, json={"credentials": CREDENTIALS}, headers=service)
        assert stored.status_code == 200, stored.text
        assistant = (await http.post("/api/assistants/", json={"name": "a"}, headers=admin)).json()
        body = {"name": "shop", "assistant_id": assistant["id"], "token": BOT_TOKEN}
        bot = (await http.post("/api/bots/", json=body, headers=admin)).json()
    return f"/api/llm-providers/{provider['id']}/api-key", path, f"/api/bots/{bot['id']}/token"


async def _read_secrets(url: str, secrets: dict[str, str], paths: tuple[str, str, str]) -> tuple:
    service = _headers(secrets, "SERVICE_API_TOKEN")
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        key = (await http.get(paths[0], headers=service)).json()["api_key"]
        credentials = (await http.get(paths[1], headers=service)).json()["credentials"]
        token = (await http.get(paths[2], headers=service)).json()["token"]
    return key, credentials, token


def _raw_tokens(database: str) -> list[str]:
    dsn = sync_url(database).replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT api_key_encrypted FROM llm_providers WHERE api_key_encrypted IS NOT NULL"
        )
        tokens = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT credentials_encrypted FROM calendar_credentials")
        tokens += [row[0] for row in cur.fetchall()]
        cur.execute("SELECT token_encrypted FROM bots")
        tokens += [row[0] for row in cur.fetchall()]
    conn.close()
    return tokens


@pytest.mark.timeout(180)
async def test_rotate_then_start_with_only_the_new_key(
    own_database: str, redis_url: str, key_prefix: str, secrets: dict, tmp_path: Path
) -> None:
    stack = Stack(_env(own_database, redis_url, key_prefix, secrets, OLD), tmp_path)
    try:
        paths = await _store_secrets(stack.start("rest_service").url, secrets)
        stack.processes["rest_service"].stop()
        before = _raw_tokens(own_database)

        # A key list that cannot open a secret changes nothing (one transaction).
        refused = _rotate(_env(own_database, redis_url, key_prefix, secrets, NEW))
        assert refused.returncode == 1 and "nothing was changed" in refused.stderr
        assert _raw_tokens(own_database) == before

        both = _env(own_database, redis_url, key_prefix, secrets, f"{NEW},{OLD}")
        first = _rotate(both)
        assert first.returncode == 0, first.stderr
        assert "provider keys: 1 re-encrypted, 0 already current" in first.stdout
        assert "calendar credentials: 1 re-encrypted, 0 already current" in first.stdout
        assert "bot tokens: 1 re-encrypted, 0 already current" in first.stdout
        again = _rotate(both)
        assert "provider keys: 0 re-encrypted, 1 already current" in again.stdout
        assert all(SecretBox(NEW).is_current(token) for token in _raw_tokens(own_database))

        new_only = _env(own_database, redis_url, key_prefix, secrets, NEW)
        stack = Stack(new_only, tmp_path / "new")
        (tmp_path / "new").mkdir()
        url = stack.start("rest_service").url
        assert await _read_secrets(url, secrets, paths) == (PROVIDER_KEY, CREDENTIALS, BOT_TOKEN)
    finally:
        stack.stop_all()


@pytest.mark.parametrize(
    "key",
    ["", "not-a-fernet-key", pytest.param(f"{generate_key()},short", id="a-key-then-junk")],
)
def test_a_key_setting_that_is_not_fernet_keys_is_refused_before_any_change(
    settings_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
) -> None:
    monkeypatch.setenv("LLM_MODEL_DECRYPT_KEY", key)
    assert rotate_key.main() == 2
    assert "LLM_MODEL_DECRYPT_KEY is not set or not Fernet keys" in capsys.readouterr().err
