"""What `./manage.py test --coverage` says after the tests (ops/coverage_report.py), run on a
project of two small files measured by coverage.py: the table, the floor that fails the run,
and an honest line when there is nothing to report or a report cannot be written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ops import coverage_report
from ops.processes import COVERAGE_VARIABLE

pytestmark = pytest.mark.e2e

CONFIG = """\
[tool.coverage.run]
branch = true
source = ["."]
parallel = true
data_file = "test-artifacts/coverage/.coverage"

[tool.coverage.json]
output = "test-artifacts/coverage/coverage.json"

[tool.coverage.html]
directory = "test-artifacts/coverage/html"
"""

HALF = """\
def used(flag):
    if flag:
        return "yes"
    return "no"


def unused():
    a = 1
    b = 2
    return a + b


print(used(True))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose run is measured, in place of the repository."""
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("")
    (tmp_path / "common" / "half.py").write_text(HALF)
    (tmp_path / "manage.py").write_text("print('all of it')\n")
    # coverage's own commands are not measured by this run's coverage
    monkeypatch.delenv(COVERAGE_VARIABLE, raising=False)
    reports = tmp_path / "test-artifacts" / "coverage"
    monkeypatch.setattr(coverage_report, "ROOT", tmp_path)
    monkeypatch.setattr(coverage_report, "HTML", reports / "html" / "index.html")
    monkeypatch.setattr(coverage_report, "JSON_REPORT", reports / "coverage.json")
    return tmp_path


def measure(project: Path, *program: str) -> None:
    subprocess.run([sys.executable, "-m", "coverage", "run", *program], cwd=project, check=True,
                   capture_output=True, timeout=60)  # fmt: skip


def test_under_the_floor_the_run_fails_and_the_table_shows_each_package(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_report.erase()
    measure(project, "-m", "common.half")
    measure(project, "manage.py")
    assert coverage_report.report(0) == 1  # the tests passed, the coverage is too low
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if line.strip()}
    assert rows["common"][:3] == ["9", "4", "55.6"] and rows["manage.py"][:3] == ["1", "0", "100.0"]
    assert rows["total"][:3] == ["10", "4", "60.0"]
    assert rows["ops"][:3] == ["0", "0", "100.0"]  # a package nothing measured keeps its row
    assert "per file: test-artifacts/coverage/html/index.html" in out
    floor, goal = coverage_report.FLOOR, coverage_report.GOAL
    assert f"60.0% is under the floor {floor}% (the whole suite's; the goal is {goal}%)" in err
    assert (project / "test-artifacts" / "coverage" / "html" / "index.html").exists()

    measure(project, "-m", "common.half")
    assert coverage_report.report(3) == 3  # failed tests: their exit code, whatever the figures


def test_over_the_floor_the_tests_exit_code_stands(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(coverage_report, "FLOOR", 50)
    measure(project, "-m", "common.half")  # 5 of its 9 lines, none of manage.py's one: 50%
    assert coverage_report.report(0) == 0
    assert "under the floor" not in capsys.readouterr().err


def test_with_no_data_or_no_report_written_it_says_so_and_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_report.erase()
    assert coverage_report.report(0) == 1
    assert capsys.readouterr().err.startswith("coverage: nothing to report: ")

    measure(project, "-m", "common.half")
    (project / "test-artifacts" / "coverage" / "coverage.json").mkdir()  # cannot be written
    assert coverage_report.report(0) == 1
    assert capsys.readouterr().err.startswith("coverage json failed: ")
