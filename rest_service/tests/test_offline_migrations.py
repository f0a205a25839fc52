"""Alembic's offline mode (`upgrade --sql`): the migration SQL a DBA reviews or runs by hand,
written without reaching any database; a step that must read rows says so instead of
crashing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ops.infra import ALEMBIC_INI, free_port
from ops.processes import measured
from ops.services import ROOT

pytestmark = pytest.mark.e2e


def offline(*args: str) -> subprocess.CompletedProcess[str]:
    """Pointed at a port where nothing listens: any attempt to connect would fail."""
    nowhere = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none"
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args, "--sql"],
        cwd=ROOT,
        env=measured({**os.environ, "ASYNC_DATABASE_URL": nowhere}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_schema_sql_is_written_without_a_database() -> None:
    done = offline("upgrade", "0010")

    assert done.returncode == 0, done.stderr
    assert "CREATE TABLE alembic_version" in done.stdout
    assert "CREATE TABLE assistants" in done.stdout and "CREATE TABLE users" in done.stdout
    assert done.stdout.rstrip().endswith("COMMIT;")
    assert "UPDATE alembic_version SET version_num='0010'" in done.stdout


def test_the_step_that_moves_stored_commands_says_it_needs_the_database() -> None:
    """0011 rewrites each mcp tool's stored command by reading the rows: no SQL script can
    do that ahead of time, and the DBA is told so (not an AttributeError)."""
    done = offline("upgrade", "0010:0011")

    assert done.returncode != 0
    assert "AttributeError" not in done.stderr
    assert "0011" in done.stderr and "cannot be run offline" in done.stderr
    assert "run it against the database" in done.stderr
