"""The tree stays `ruff check`, `ruff format` and `mypy --strict` clean."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ops.processes import COVERAGE_VARIABLE
from ops.services import ROOT

pytestmark = pytest.mark.policy


def unmeasured() -> dict[str, str]:
    """This environment without coverage.py's configuration: the checkers are not the code
    the suite measures, and tracing mypy in a `--coverage` run about doubled its time."""
    return {name: value for name, value in os.environ.items() if name != COVERAGE_VARIABLE}


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        cwd=ROOT,
        env=unmeasured(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--quiet", "."],
        cwd=ROOT,
        env=unmeasured(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)  # a cold mypy run over the whole tree, on a loaded machine
def test_mypy_strict_is_clean() -> None:
    """The types written everywhere are checked: mypy strict (pyproject's [tool.mypy]) on common
    and the five services finds nothing. Its cache (.mypy_cache/, mypy's default) makes every
    run after the first in a checkout check only what changed."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        env=unmeasured(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
