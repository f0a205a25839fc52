"""The template every test database is copied from (`DatabaseServer.migrated_template`):
made once for a set of migrations and shared by workers and runs, never copied half-made,
and templates of other migrations dropped only once no run can still use them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg2
import pytest

from ops.infra import (
    STALE_TEMPLATE_S,
    DatabaseServer,
    admin_dsn,
    migrations_digest,
    with_database,
)

pytestmark = pytest.mark.e2e  # a template not made yet is made by Alembic's own process

HEAD_TABLES = {"users", "assistants", "cron_jobs", "alembic_version"}


def names(url: str, query: str) -> set[str]:
    conn = psycopg2.connect(admin_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def databases(server: DatabaseServer) -> set[str]:
    return names(server.server_url, "SELECT datname FROM pg_database")


def tables(url: str) -> set[str]:
    return names(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


def test_workers_asking_at_once_share_one_template_and_copy_it_at_once(
    postgres_server: DatabaseServer,
) -> None:
    with ThreadPoolExecutor(4) as pool:
        templates = set(pool.map(lambda _: postgres_server.migrated_template(), range(4)))
        [template] = templates
        copies = list(pool.map(lambda _: postgres_server.create(template=template), range(4)))
    try:
        for copy in copies:
            assert tables(copy) >= HEAD_TABLES
    finally:
        for copy in copies:
            postgres_server.drop(copy)
    name = template.rsplit("/", 1)[1]
    assert name.startswith(f"sa_template_{migrations_digest()}_")
    assert not [n for n in databases(postgres_server) if n.startswith("sa_migrating_")]


def test_a_half_made_template_and_old_ones_of_other_migrations_are_dropped(
    postgres_server: DatabaseServer,
) -> None:
    now = int(datetime.now(UTC).timestamp())  # templates are judged by their names' times
    half_made = f"sa_migrating_{migrations_digest()}_{now}"  # its maker died mid-migration
    old_other = f"sa_template_{'0' * 12}_{now - STALE_TEMPLATE_S - 60}"
    young_other = f"sa_template_{'1' * 12}_{now - 60}"  # another checkout's, perhaps running
    for name in (half_made, old_other, young_other):
        postgres_server.create(name)
    try:
        template = postgres_server.migrated_template(now=now)
        left = databases(postgres_server)
        assert half_made not in left and old_other not in left
        assert young_other in left
        assert template.rsplit("/", 1)[1] in left
    finally:
        for name in (half_made, old_other, young_other):
            postgres_server.drop(with_database(postgres_server.server_url, name))


def test_a_migration_that_fails_leaves_no_template(
    postgres_server: DatabaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ops import infra

    monkeypatch.setattr(infra, "migrations_digest", lambda: "f" * 12)
    monkeypatch.setattr(infra, "ALEMBIC_INI", infra.ALEMBIC_INI.with_name("missing.ini"))
    with pytest.raises(infra.InfraError, match="alembic upgrade head failed"):
        postgres_server.migrated_template()
    assert not [n for n in databases(postgres_server) if "f" * 12 in n]
