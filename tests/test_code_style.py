"""The tree stays `ruff check`, `ruff format` and `mypy --strict` clean, and the tests `mypy`
clean."""

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


def modules_of_the_tests() -> list[str]:
    """Every test module and the root conftest. Named one by one: pyproject's `exclude` keeps
    folders named `tests` out of the strict run, and would drop them if given as folders."""
    found = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("*/tests/**/*.py"), ROOT / "conftest.py"]
    return sorted(str(path.relative_to(ROOT)) for path in found if ".venv" not in path.parts)


@pytest.mark.timeout(600)  # a cold run, on a loaded machine
def test_mypy_is_clean_on_the_tests() -> None:
    """The tests are type-checked too, not strictly (pyproject's override for test modules):
    the helpers they share and the code they call are used as typed. The strict run's cache
    serves the production modules here."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *modules_of_the_tests()],
        cwd=ROOT,
        env=unmeasured(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
