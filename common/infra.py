"""Finding Postgres and Redis the way ARCHITECTURE.md "Running it" says: the configured URLs,
else the local servers on their standard ports when they answer. Used by the test harness
and by manage.py once it runs inside the project's environment."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOCAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Endpoint:
    url: str
    origin: str  # "configured" | "local" | "embedded"


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_answers(url: str) -> bool:
    parts = urlsplit(url.replace("+asyncpg", "").replace("+psycopg2", ""))
    default = 5432 if parts.scheme.startswith("postgres") else 6379
    return port_answers(parts.hostname or "127.0.0.1", parts.port or default)


def find_postgres(configured: str | None = None) -> Endpoint | None:
    configured = configured or os.environ.get("ASYNC_DATABASE_URL")
    if configured:
        return Endpoint(configured, "configured")
    if port_answers("127.0.0.1", 5432):
        return Endpoint(LOCAL_POSTGRES_URL, "local")
    return None


def find_redis(configured: str | None = None) -> Endpoint | None:
    configured = configured or os.environ.get("REDIS_URL")
    if configured:
        return Endpoint(configured, "configured")
    if port_answers("127.0.0.1", 6379):
        return Endpoint(LOCAL_REDIS_URL, "local")
    return None


def sync_url(async_url: str) -> str:
    """The psycopg2 form of an asyncpg URL (Alembic and admin tasks run synchronously)."""
    return async_url.replace("postgresql+asyncpg://", "postgresql+psycopg2://", 1)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{database}").geturl()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
