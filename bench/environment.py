"""A benchmark's own environment: a database (migrated), a Redis key prefix and fresh
secrets on the Postgres and Redis the tests use (TEST_DATABASE_URL / TEST_REDIS_URL, else
the local servers), all removed again when the benchmark ends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from common.infrastructure.redis_keys import Names
from ops.infra import DatabaseServer, find_postgres, find_redis, migrate
from ops.run_env import base_env, forget_prefix, fresh_secrets


@dataclass
class BenchEnvironment:
    server: DatabaseServer
    database_name: str
    database_url: str
    redis_url: str
    prefix: str
    #: What the benchmark's services start with (add to it before starting them).
    env: dict[str, str]

    @property
    def names(self) -> Names:
        return Names(self.prefix)

    @classmethod
    def open(
        cls, label: str, *, log_level: str = "WARNING", migrated: bool = True
    ) -> BenchEnvironment:
        postgres = find_postgres(os.environ.get("TEST_DATABASE_URL"))
        redis = find_redis(os.environ.get("TEST_REDIS_URL"))
        if postgres is None or redis is None:
            raise SystemExit(
                "needs Postgres and Redis (local, or TEST_DATABASE_URL / TEST_REDIS_URL)"
            )
        server = DatabaseServer(postgres.url)
        database_name = f"sa_bench_{label}_{uuid.uuid4().hex[:8]}"
        database_url = server.create(database_name)
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        env = base_env(database_url, redis.url, prefix, fresh_secrets(), log_level=log_level)
        opened = cls(server, database_name, database_url, redis.url, prefix, env)
        if migrated:
            try:
                migrate(database_url)
            except BaseException:
                opened.close()
                raise
        return opened

    def close(self) -> None:
        """Drop the database and the prefix's keys."""
        try:
            self.server.drop(self.database_url)
        finally:
            forget_prefix(self.redis_url, self.prefix)


@contextmanager
def bench_environment(
    label: str, *, log_level: str = "WARNING", migrated: bool = True
) -> Iterator[BenchEnvironment]:
    opened = BenchEnvironment.open(label, log_level=log_level, migrated=migrated)
    try:
        yield opened
    finally:
        opened.close()
