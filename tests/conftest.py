"""Fixtures of the cross-service tests in this folder (the shared harness is loaded by the
root conftest.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


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
