"""The test harness every service's tests share (loaded by the root conftest.py).

Each test session gets its own Postgres database (created, migrated, dropped) and each test
its own REDIS_KEY_PREFIX, so two runs sharing one server never hear each other. `stack`
starts chosen services as real processes on free ports and stops them afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import redis as syncredis
import redis.asyncio as aioredis

from common.crypto import generate_key
from common.names import Names
from common.postgres_url import sync_url
from ops.infra import find_postgres, find_redis, free_port, with_database

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "rest_service" / "alembic.ini"

#: Settings that would let a developer's .env or shell leak into a test run.
_ISOLATED = (
    "TELEGRAM_TOKEN",
    "TELEGRAM_API_BASE",
    "ALLOWED_TELEGRAM_IDS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "LOG_FILE",
)


def _admin_dsn(async_url: str) -> str:
    return sync_url(async_url).replace("postgresql+psycopg2://", "postgresql://", 1)


def migrate(database_url: str, *args: str) -> None:
    """Run Alembic against `database_url` (default: upgrade head)."""
    if not ALEMBIC_INI.exists():
        return
    env = {**os.environ, "ASYNC_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *(args or ("upgrade", "head"))],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
    )


@dataclass
class TestDatabase:
    server_url: str

    def create(self, name: str | None = None) -> str:
        name = name or f"sa_test_{uuid.uuid4().hex[:10]}"
        conn = psycopg2.connect(_admin_dsn(self.server_url))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        conn = psycopg2.connect(_admin_dsn(self.server_url))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> TestDatabase:
    found = find_postgres(os.environ.get("TEST_DATABASE_URL"))
    if found is None:
        pytest.exit("no Postgres: set TEST_DATABASE_URL or start one on 127.0.0.1:5432", 3)
    return TestDatabase(found.url)


@pytest.fixture(scope="session")
def database_url(postgres_server: TestDatabase) -> Iterator[str]:
    """This session's own database, migrated to head."""
    url = postgres_server.create()
    try:
        migrate(url)
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture
def empty_database(postgres_server: TestDatabase) -> Iterator[str]:
    """A database of this test's own, not migrated."""
    url = postgres_server.create()
    try:
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    found = find_redis(os.environ.get("TEST_REDIS_URL"))
    if found is None:
        pytest.exit("no Redis: set TEST_REDIS_URL or start one on 127.0.0.1:6379", 3)
    return found.url


@pytest.fixture(scope="session")
def session_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = syncredis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def key_prefix(session_prefix: str) -> str:
    """This test's own REDIS_KEY_PREFIX."""
    return f"{session_prefix}{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def names(key_prefix: str) -> Names:
    return Names(key_prefix)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def secrets() -> dict[str, str]:
    return {
        "ADMIN_API_TOKEN": f"admin-{uuid.uuid4().hex}",
        "SERVICE_API_TOKEN": f"service-{uuid.uuid4().hex}",
        "LLM_MODEL_DECRYPT_KEY": generate_key(),
        "TELEGRAM_TOKEN": "123456:TEST-token",
    }


def base_env(
    database_url: str, redis_url: str, key_prefix: str, secrets: dict[str, str]
) -> dict[str, str]:
    """What every service a test starts runs with: its database, its Redis prefix, JSON logs."""
    return {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        **secrets,
    }


@pytest.fixture
def service_env(
    database_url: str, redis_url: str, key_prefix: str, secrets: dict[str, str]
) -> dict[str, str]:
    """The environment a service of this test runs with."""
    return base_env(database_url, redis_url, key_prefix, secrets)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> dict[str, str]:
    """Puts `service_env` into os.environ for settings built in this process."""
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    return service_env


class ServiceFailedToStart(RuntimeError):
    pass


@dataclass
class ServiceProcess:
    name: str
    service: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self, last: int | None = None) -> str:
        if not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last:] if last else lines)

    def start(self, cwd: Path, timeout: float = 30.0) -> None:
        log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.service],
            cwd=cwd,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServiceFailedToStart(f"{self.name} exited:\n{self.logs(40)}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ServiceFailedToStart(f"{self.name} not healthy in {timeout}s:\n{self.logs(40)}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Signal the process and wait; SIGKILL after `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def secretary_config(
    *,
    provider: str,
    base_url: str,
    api_key: str,
    model: str,
    secretary: str,
    tools: list[dict[str, Any]],
) -> dict[str, Any]:
    """A config document: one provider and its default model, a brief secretary with `tools`."""
    return {
        "providers": [{"name": provider, "base_url": base_url, "api_key": api_key}],
        "models": [{"provider": provider, "provider_model_name": model, "is_default": True}],
        "assistants": [{"name": secretary, "is_secretary": True, "instructions": "Be brief."}],
        "tools": tools,
        "links": [{"assistant": secretary, "tool": tool["name"]} for tool in tools],
    }


_URL_SETTINGS = {
    "rest_service": "REST_SERVICE_URL",
    "google_calendar_service": "GOOGLE_CALENDAR_SERVICE_URL",
}


@dataclass
class Stack:
    """Services of one test as real processes: `stack.start("rest_service")`."""

    env: dict[str, str]
    workdir: Path
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(
        self,
        service: str,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> ServiceProcess:
        name = name or service
        if name in self.processes and self.processes[name].running:
            raise RuntimeError(f"{name} is already running")
        port = free_port()
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **self.env,
            **self._peer_urls(),
            "HTTP_PORT": str(port),
            **(env or {}),
        }
        process = ServiceProcess(name, service, port, full_env, self.workdir / f"{name}.log")
        self.processes[name] = process
        process.start(self.workdir, timeout)
        return process

    def restart(self, name: str, timeout: float = 30.0) -> ServiceProcess:
        """Start a stopped (or killed) process again, on the same port and settings."""
        process = self.processes[name]
        process.stop()
        process.start(self.workdir, timeout)
        return process

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def url(self, name: str) -> str:
        return self.processes[name].url

    def import_config(self, document: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/config/import` to this stack's rest_service, as the admin."""
        response = httpx.post(
            f"{self.url('rest_service')}/api/config/import",
            json=document,
            headers={"Authorization": f"Bearer {self.env['ADMIN_API_TOKEN']}"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def _peer_urls(self) -> dict[str, str]:
        return {
            setting: self.processes[svc].url
            for svc, setting in _URL_SETTINGS.items()
            if svc in self.processes
        }

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture
def stack(service_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    running = Stack(dict(service_env), workdir)
    try:
        yield running
    finally:
        running.stop_all()
