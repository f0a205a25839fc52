"""`./manage.py test --coverage` measures what it says: every production file, in
every process the tests start, and nothing else; CI runs the command the README gives, and the
docs state the floor it enforces."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from coverage.files import GlobMatcher, prep_patterns

from ops import coverage_report
from ops.cli import build_parser
from ops.processes import COVERAGE_VARIABLE, measured
from ops.services import ROOT

pytestmark = pytest.mark.policy

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUN = PYPROJECT["tool"]["coverage"]["run"]
REPORT = PYPROJECT["tool"]["coverage"]["report"]
#: A `pragma: no cover` followed by its reason: `# pragma: no cover: <why>`.
PRAGMA = re.compile(r"#\s*pragma:\s*no\s*cover\b(?P<why>.*)$")


def tracked_python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def is_production(path: str) -> bool:
    parts = Path(path).parts
    return (
        parts[0] in coverage_report.PACKAGES
        and "tests" not in parts
        and not path.startswith("rest_service/alembic/versions/")
    )


def production_files() -> list[str]:
    return [path for path in tracked_python_files() if is_production(path)]


def test_the_table_has_a_row_for_every_package_the_type_checker_holds_to_strict() -> None:
    assert set(coverage_report.PACKAGES) == set(PYPROJECT["tool"]["mypy"]["files"])


def test_every_production_file_is_measured_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the patterns are relative to the repository, as for the report
    assert RUN["source"] == ["."]
    omitted = GlobMatcher(prep_patterns(REPORT["omit"]), "omit")
    files = tracked_python_files()
    assert any(path.startswith("rest_service/app/api/") for path in files)
    wrong = [p for p in files if omitted.match(str(ROOT / p)) == is_production(p)]
    assert wrong == [], "measured but not production, or production but omitted"


def test_the_run_and_the_report_omit_the_same_files() -> None:
    assert RUN["omit"] == REPORT["omit"]


def test_the_service_processes_the_tests_start_are_measured() -> None:
    # coverage's .pth starts it in every Python child; "fork": a fork server's children
    # (ops/fork_server.py) start it afresh and save their own data
    assert RUN["patch"] == ["subprocess", "fork"]
    assert RUN["parallel"] and RUN["branch"]
    assert RUN["sigterm"]  # a service stopped with SIGTERM saves its data first


def test_lines_after_an_async_database_call_are_measured() -> None:
    """SQLAlchemy's async sessions switch greenlets; coverage follows them only when told."""
    assert set(RUN["concurrency"]) == {"thread", "greenlet"}


def test_a_child_with_an_environment_of_its_own_gets_coverages_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(COVERAGE_VARIABLE, raising=False)
    assert measured({"PATH": "/bin"}) == {"PATH": "/bin"}
    monkeypatch.setenv(COVERAGE_VARIABLE, "config")
    assert measured({"PATH": "/bin"}) == {"PATH": "/bin", COVERAGE_VARIABLE: "config"}


def test_the_suite_runs_under_coverage_when_asked() -> None:
    args = build_parser().parse_args(["test", "--coverage"])
    assert args.coverage
    wrapped = coverage_report.wrap(["python", "-m", "pytest", "-x", "tests"])
    assert wrapped == ["python", "-m", "coverage", "run", "-m", "pytest", "-x", "tests"]


def test_the_table_sums_the_files_of_each_package() -> None:
    def summary(statements: int, missing: int, branches: int, missed: int) -> dict[str, object]:
        numbers = {
            "num_statements": statements,
            "missing_lines": missing,
            "num_branches": branches,
            "missing_branches": missed,
        }
        return {"summary": numbers}

    report = {
        "files": {
            "common/a.py": summary(10, 1, 4, 1),
            "common/b/c.py": summary(30, 3, 0, 0),
            "manage.py": summary(60, 60, 6, 6),
        }
    }
    tallies = coverage_report.tally(report)  # type: ignore[arg-type]  # a coverage JSON report, nested as coverage writes it
    assert tallies["common"].line_percent == 90.0
    assert tallies["common"].branch_percent == 75.0
    assert tallies["manage.py"].line_percent == 0.0
    assert tallies["ops"].statements == 0  # a package no file of which ran still has its row
    assert tallies["total"].statements == 100 and tallies["total"].line_percent == 36.0
    assert list(tallies)[-1] == "total"
    assert "common" in coverage_report.table(tallies).splitlines()[1]


def ci_test_command() -> str:
    """The line of .ci/run that runs the tests."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in lines if line.strip().startswith("./manage.py test")]
    assert len(commands) == 1, commands
    return commands[0]


def test_ci_runs_the_readmes_test_command_under_coverage() -> None:
    command = ci_test_command()
    assert "--coverage" in shlex.split(command)
    readme = (ROOT / "README.md").read_text()
    testing = readme.split("### Testing", 1)[1].split("\n## ", 1)[0]
    assert f"`{command}`" in testing or f"\n{command}\n" in testing


def test_the_docs_state_the_floor_and_the_goal() -> None:
    assert 0 < coverage_report.FLOOR <= coverage_report.GOAL
    doc = (ROOT / "docs" / "testing.md").read_text()
    assert f"floor is **{coverage_report.FLOOR}%**" in doc
    assert f"goal is **{coverage_report.GOAL}%**" in doc


def test_every_pragma_no_cover_says_why() -> None:
    bare = []
    for path in production_files():
        for number, line in enumerate((ROOT / path).read_text().splitlines(), 1):
            found = PRAGMA.search(line)
            if found and len(found["why"].strip(" :-()").split()) < 3:
                bare.append(f"{path}:{number}: {line.strip()}")
    assert bare == [], "write `# pragma: no cover: <why, in a few words>`"


GREENLET_PROGRAM = """
import asyncio

import coverage

measuring = coverage.Coverage(config_file={config!r}, data_file=None, source=[{folder!r}])
measuring.start()
from program import main  # noqa: E402

asyncio.run(main())
measuring.stop()
_, _, _, missing, _ = measuring.analysis2({program!r})
print(missing)
"""

#: Async code over SQLAlchemy's asyncio layer, which runs the driver in a greenlet.
AWAITS_THROUGH_A_GREENLET = """
import asyncio

from sqlalchemy.util import await_only, greenlet_spawn


async def driver_call():
    loop = asyncio.get_running_loop()
    answered = loop.create_future()
    loop.call_soon(answered.set_result, None)  # as a driver's reply arrives, on a later turn
    await answered


def sync_part():
    await_only(driver_call())


async def main():
    await greenlet_spawn(sync_part)
    after_the_await = True
    return after_the_await
"""


def test_lines_after_an_await_into_sqlalchemy_are_measured(tmp_path: Path) -> None:
    """Without coverage's greenlet support, a greenlet switch loses the lines after the first
    `await` of a database call in every handler: the report said they never ran."""
    program = tmp_path / "program.py"
    program.write_text(AWAITS_THROUGH_A_GREENLET)
    config = str(ROOT / "pyproject.toml")
    runner = GREENLET_PROGRAM.format(config=config, folder=str(tmp_path), program=str(program))
    ran = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]", "lines never measured: " + ran.stdout
