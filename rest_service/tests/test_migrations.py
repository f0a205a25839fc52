"""Models and the one Alembic history agree, and the history runs both ways."""

from __future__ import annotations

import psycopg2
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from common.postgres_url import sync_url
from ops.infra import migrate
from rest_service.app import models  # noqa: F401  (registers the tables)


def _tables(url: str) -> set[str]:
    conn = psycopg2.connect(sync_url(url).replace("postgresql+psycopg2://", "postgresql://"))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = {row[0] for row in cur.fetchall()}
    conn.close()
    return names


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
