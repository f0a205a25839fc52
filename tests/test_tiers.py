"""The tiers (tests/tiers.py): every test has exactly one, a unit test touches no server and
starts no process, the fixture map names fixtures that exist and holds every fixture that
starts processes, and the fast Hypothesis profile caps what a test asks for."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops import cli
from tests import tiers
from tests.harness import worker
from tests.tiers import E2E_FIXTURES, INTEGRATION_FIXTURES, ROOT, TIERS, TierError, tier_of

#: What in a fixture's own body starts a process (a fixture it requests is seen at collection).
_STARTS_PROCESSES = re.compile(
    r"\bStack\(|subprocess\.|\bPopen\(|running_system\(|Private\w+\(|McpServerProcess\(|full_redis\("
)


def _fixtures(path: Path) -> dict[str, str]:
    """name -> source of every pytest fixture defined at the top of `path`."""
    source = path.read_text()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            found[node.name] = ast.get_source_segment(source, node) or ""
    return found


def _test_files() -> list[Path]:
    skipped = {".venv", ".git", "node_modules", ".tools", ".data"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skipped & set(path.relative_to(ROOT).parts)
        and ("tests" in path.relative_to(ROOT).parts or path.name == "conftest.py")
    ]


def test_every_collected_test_has_exactly_one_tier(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    assert items
    for item in items:
        marked = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        assert len(marked) == 1, f"{item.nodeid}: {marked}"


def test_a_unit_test_requests_no_server_or_process(request: pytest.FixtureRequest) -> None:
    for item in request.session.items:
        if tiers.tier(item) == "unit":
            used = tiers.definitions(item) & (INTEGRATION_FIXTURES | E2E_FIXTURES)
            assert not used, f"{item.nodeid} is unit but uses {sorted(used)}"


def test_the_map_names_fixtures_that_exist() -> None:
    for entry in sorted(INTEGRATION_FIXTURES | E2E_FIXTURES):
        file, name = entry.split(":")
        assert name in _fixtures(ROOT / file), f"{entry} is no fixture"
    assert not INTEGRATION_FIXTURES & E2E_FIXTURES


def _marked_slow(path: Path) -> bool:
    """Whether the module's `pytestmark` makes every test in it e2e or policy."""
    found = re.search(r"^pytestmark = [^\n]*", path.read_text(), re.MULTILINE)
    return bool(found and re.search(r"pytest\.mark\.(e2e|policy)\b", found.group()))


def test_every_fixture_that_starts_processes_is_e2e() -> None:
    for path in _test_files():
        if _marked_slow(path):
            continue
        for name, source in _fixtures(path).items():
            entry = f"{path.relative_to(ROOT).as_posix()}:{name}"
            if _STARTS_PROCESSES.search(source):
                assert entry in E2E_FIXTURES, f"{entry} starts processes: add it to tests/tiers.py"


def test_fixtures_decide_the_tier_and_a_mark_may_only_raise_it() -> None:
    stack, redis = "tests/harness.py:stack", "tests/harness.py:redis_url"
    assert tier_of([], []) == "unit"
    assert tier_of([redis], []) == "integration"
    assert tier_of([redis, stack], []) == "e2e"
    assert tier_of([], ["e2e"]) == "e2e"
    assert tier_of([stack], ["policy"]) == "policy"
    with pytest.raises(TierError, match="fixtures make it e2e"):
        tier_of([stack], ["unit"])
    with pytest.raises(TierError, match="several tiers"):
        tier_of([], ["unit", "e2e"])


def test_a_unit_test_that_starts_a_process_fails_saying_it_is_e2e() -> None:
    with pytest.raises(RuntimeError, match="it is an e2e test"):
        subprocess.run(["true"], check=False)


def test_the_fast_profile_caps_a_tests_own_examples() -> None:
    @settings(max_examples=300)
    @given(st.integers())
    def many(value: int) -> None:
        del value

    @settings(max_examples=5)
    @given(st.integers())
    def few(value: int) -> None:
        del value

    class Item:
        obj = many

    tiers._few_examples(Item())  # type: ignore[arg-type]
    Item.obj = few
    tiers._few_examples(Item())  # type: ignore[arg-type]
    assert many._hypothesis_internal_use_settings.max_examples == tiers.FAST_EXAMPLES  # type: ignore[attr-defined]
    assert few._hypothesis_internal_use_settings.max_examples == 5  # type: ignore[attr-defined]
    assert settings.get_profile("fast").max_examples == tiers.FAST_EXAMPLES
    assert settings.get_profile("full").max_examples == settings.get_profile("default").max_examples


def test_fast_runs_the_unit_and_integration_tiers_with_the_fast_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []

    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", run)
    assert cli.main(["test", "--fast", "--service", "common", "-x"]) == 0
    assert cli.main(["test", "-x"]) == 0
    fast, whole = (command[command.index("pytest") + 1 :] for command in ran)
    assert fast == [
        "common/tests",
        "-m",
        "unit or integration",
        "--hypothesis-profile=fast",
        "-x",
    ]
    assert whole == ["-x"]


def test_each_xdist_worker_has_its_own_database_and_key_prefix(
    database_url: str, session_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = worker()
    assert database_url.rsplit("/", 1)[1].startswith(f"sa_test_{here}_")
    assert session_prefix.startswith(f"test:{here}:")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert worker() == "gw3"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert worker() == "main"
