"""Fixtures of the cross-service tests in this folder (the shared harness is loaded by the
root conftest.py)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import MigratedDatabases
from tests.system import System, running_system


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A data folder for embedded servers outside pytest's own temporary root: run as root,
    pgserver runs Postgres as the user `pgserver`, and any pytest session starting meanwhile
    (others' tests on a shared machine) makes that root private again (0700), after which
    Postgres can neither start nor be stopped there."""
    folder = Path(tempfile.mkdtemp(prefix="sa-embedded-"))
    folder.chmod(0o755)
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def system_env() -> dict[str, dict[str, str]]:
    """Settings a module adds to its services' (by service name): a module that needs some
    defines a fixture of this name."""
    return {}


@pytest.fixture(scope="module")
def whole_system(
    request: pytest.FixtureRequest,
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    system_env: dict[str, dict[str, str]],
) -> Iterator[System]:
    """Every service as a real process, with the stand-ins, shared by one test module under a
    Redis prefix of its own. A module runs a test in both shapes of the system by
    parametrizing this fixture (indirectly) with `tests.system.MODES`."""
    mode = getattr(request, "param", "processes")
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    prefix = f"{session_prefix}{label}-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp(f"{label}-{mode}")
    with running_system(
        migrated_databases,
        redis_url,
        prefix,
        secrets,
        workdir,
        system_env,
        one_process=mode == "one_process",
    ) as system:
        yield system
