"""The one rule that turns the services' asyncpg URL into its psycopg2 form: Alembic and the
synchronous admin tasks cannot run on asyncpg."""

from __future__ import annotations


def sync_url(async_url: str) -> str:
    """The psycopg2 form of an asyncpg URL."""
    return async_url.replace("postgresql+asyncpg://", "postgresql+psycopg2://", 1)
