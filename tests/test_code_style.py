"""The tree stays `ruff check`, `ruff format` and `mypy --strict` clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.policy


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--quiet", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)  # a cold mypy run over the whole tree, on a loaded machine
def test_mypy_strict_is_clean() -> None:
    """The types written everywhere are checked: mypy strict (pyproject's [tool.mypy]) on common
    and the five services finds nothing."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
