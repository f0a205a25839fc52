"""The tiers (tests/tiers.py): every test has exactly one, a unit test touches no server and
starts no process, the fixture map names fixtures that exist and holds every fixture that
starts processes, and the fast Hypothesis profile caps what a test asks for."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.postgres_url import libpq_dsn
from ops import cli
from tests import tiers
from tests.harness import worker
from tests.tiers import E2E_FIXTURES, INTEGRATION_FIXTURES, ROOT, TIERS, TierError, tier_of
from tests.waiting import until_sync

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


@pytest.mark.policy  # reads every source file: a rule of the code, not a behaviour
def test_the_map_names_fixtures_that_exist() -> None:
    for entry in sorted(INTEGRATION_FIXTURES | E2E_FIXTURES):
        file, name = entry.split(":")
        assert name in _fixtures(ROOT / file), f"{entry} is no fixture"
    assert not INTEGRATION_FIXTURES & E2E_FIXTURES


def _marked_slow(path: Path) -> bool:
    """Whether the module's `pytestmark` makes every test in it e2e or policy."""
    found = re.search(r"^pytestmark = [^\n]*", path.read_text(), re.MULTILINE)
    return bool(found and re.search(r"pytest\.mark\.(e2e|policy)\b", found.group()))


@pytest.mark.policy  # reads every source file: a rule of the code, not a behaviour
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


def test_the_fast_profile_caps_a_property_a_test_defines_in_its_body() -> None:
    current = settings.get_current_profile_name()
    try:
        settings.load_profile("full")
        assert tiers.examples(300) == 300  # the test's own number
        settings.load_profile("fast")
        assert tiers.examples(300) == tiers.FAST_EXAMPLES
        assert tiers.examples(3) == 3
    finally:
        settings.load_profile(current)


#: `@settings(` indented: a property defined in a test's body, out of collection's reach.
_NESTED_SETTINGS = re.compile(r"^[ ]+@settings\((?:[^()]|\([^()]*\))*\)", re.MULTILINE)


def test_a_property_in_a_tests_body_takes_its_examples_through_the_cap() -> None:
    literal = []
    for path in [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("*/tests/**/test_*.py")]:
        for found in _NESTED_SETTINGS.finditer(path.read_text()):
            if re.search(r"max_examples=\d", found.group()) and path.name != "test_tiers.py":
                literal.append(f"{path.relative_to(ROOT)}: {found.group().split(chr(10))[0]}")
    assert not literal, "use max_examples=examples(N) (tests/tiers.py):\n" + "\n".join(literal)


class Finished:
    """A pytest run that passed at once."""

    def wait(self) -> int:
        return 0

    def kill(self) -> None:
        pass


@dataclass
class PytestRuns:
    """What `./manage.py test` would have run: each pytest command and its environment."""

    commands: list[list[str]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)

    def popen(self, command: list[str], *, env: dict[str, str], **_: object) -> Finished:
        self.commands.append(command)
        self.envs.append(env)
        return Finished()

    def in_place_of_pytest(self, monkeypatch: pytest.MonkeyPatch) -> PytestRuns:
        monkeypatch.setattr(cli.subprocess, "Popen", self.popen)  # type: ignore[attr-defined]  # the module ops.cli runs pytest through
        return self

    def arguments(self) -> list[list[str]]:
        """Each command's arguments after `pytest`."""
        return [command[command.index("pytest") + 1 :] for command in self.commands]


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> PytestRuns:
    """Records the commands; none runs. The server is taken to have room for every worker
    (the suite's own connections vary while it runs; the room's tests are below)."""
    monkeypatch.setattr(cli.WorkerReservation, "take", lambda self, url: None)
    return PytestRuns().in_place_of_pytest(monkeypatch)


def test_fast_runs_the_unit_and_integration_tiers_with_the_fast_profile(ran: PytestRuns) -> None:
    assert cli.main(["test", "--fast", "--service", "common", "-x"]) == 0
    assert cli.main(["test", "-x"]) == 0
    fast, whole = ran.arguments()
    assert fast == [
        "common/tests",
        "-m",
        "unit or integration",
        "--hypothesis-profile=fast",
        "-x",
        "-n",
        str(cli.fast_workers()),
        "--dist",
        "worksteal",
    ]
    assert whole == ["-x", "-n", str(cli.whole_suite_workers()), "--dist", "loadfile"]


@pytest.mark.parametrize(("cores", "workers"), [(None, 3), (1, 3), (2, 4), (6, 8), (16, 8)])
def test_the_fast_tier_has_two_workers_more_than_cores(
    cores: int | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert cli.fast_workers() == workers


@pytest.mark.parametrize(("cores", "workers"), [(None, 2), (1, 2), (2, 4), (3, 4), (16, 4)])
def test_the_whole_suite_has_two_workers_a_core_at_most_four(
    cores: int | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert cli.whole_suite_workers() == workers


@pytest.mark.parametrize(
    ("room", "workers"), [(None, 4), (500, 4), (96, 4), (79, 3), (40, 2), (39, 1), (5, 1), (0, 1)]
)
def test_the_whole_suite_has_no_more_workers_than_the_servers_room_holds(
    room: int | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's tests and services held up to about 20 connections at once."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert cli.whole_suite_workers(room) == workers


@pytest.mark.parametrize(
    ("open_now", "reserved", "room"), [(1, 0, 96), (30, 0, 67), (30, 4, 17), (90, 4, 7)]
)
def test_the_room_counts_the_runs_already_there_at_their_peak(
    open_now: int, reserved: int, room: int
) -> None:
    """Four workers that hold 30 connections now may hold 80 later."""
    assert cli.room_left(97, open_now, reserved) == room


def _names(database_url: str) -> set[str]:
    with psycopg2.connect(libpq_dsn(database_url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT application_name FROM pg_stat_activity")
        names = {name for (name,) in cursor.fetchall()}
    conn.close()
    return names


def _limit(database_url: str) -> int:
    with psycopg2.connect(libpq_dsn(database_url)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
        )
        (limit,) = cursor.fetchone() or (0,)
    conn.close()
    return int(limit)


def test_a_run_holds_its_workers_in_a_named_connection_that_the_next_run_counts(
    database_url: str,
) -> None:
    limit = _limit(database_url)
    with cli.WorkerReservation() as first:
        assert first.take(database_url) is not None
        first.hold(3)
        assert "smart-assistant tests: 3 workers" in _names(database_url)
        with cli.WorkerReservation() as second:
            room = second.take(database_url)
            assert room is not None and room <= limit - 3 * cli.CONNECTIONS_A_WORKER
            second.hold(1)
    assert "smart-assistant tests: 3 workers" not in _names(database_url)


def test_runs_started_together_look_at_the_room_one_after_the_other(database_url: str) -> None:
    """The second waits on the first's lock until the first has named its workers."""
    limit = _limit(database_url)
    seen: list[int | None] = []
    with cli.WorkerReservation() as first, cli.WorkerReservation() as second:
        assert first.take(database_url) is not None
        looking = threading.Thread(target=lambda: seen.append(second.take(database_url)))
        looking.start()
        until_sync(lambda: _waits_on_the_lock(database_url), timeout=30)
        assert not seen
        first.hold(4)
        looking.join(timeout=30)
        (room,) = seen
        assert room is not None and room <= limit - 4 * cli.CONNECTIONS_A_WORKER
        second.hold(1)


def _waits_on_the_lock(database_url: str) -> bool:
    with psycopg2.connect(libpq_dsn(database_url)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objid = %s",
            [cli._RESERVATION_LOCK],
        )
        (waiting,) = cursor.fetchone() or (0,)
    conn.close()
    return bool(waiting)


def test_a_server_that_does_not_answer_gives_no_room_and_holds_nothing() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: refused
        port = unused.getsockname()[1]
        with cli.WorkerReservation() as reservation:
            assert reservation.take(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x") is None


def test_a_run_beside_another_gets_fewer_workers_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    ran = PytestRuns().in_place_of_pytest(monkeypatch)  # the server's real room
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("TEST_DATABASE_URL", database_url)
    with cli.WorkerReservation() as beside:
        assert beside.take(database_url) is not None
        beside.hold(4)
        assert cli.main(["test", "-x"]) == 0
    expected = cli.whole_suite_workers(_limit(database_url) - 4 * cli.CONNECTIONS_A_WORKER)
    assert ran.arguments() == [["-x", "-n", str(expected), "--dist", "loadfile"]]
    assert f"{expected} pytest-xdist worker(s)" in capsys.readouterr().err


def test_the_whole_suite_gets_a_worker_a_core_and_a_named_part_one_process(
    ran: PytestRuns,
) -> None:
    workers = str(cli.whole_suite_workers())
    assert cli.main(["test", "--", "-q", "-k", "queue", "-m", "e2e"]) == 0
    assert cli.main(["test", "--", "common/tests/test_queue.py::test_x", "-q"]) == 0
    assert cli.main(["test", "--", "tests", "-x"]) == 0
    assert cli.main(["test", "--service", "common"]) == 0
    assert cli.main(["test", "--", "--co", "-q"]) == 0
    assert cli.main(["test", "--", "--dist", "load"]) == 0
    assert ran.arguments() == [
        ["-q", "-k", "queue", "-m", "e2e", "-n", workers, "--dist", "loadfile"],
        ["common/tests/test_queue.py::test_x", "-q"],
        ["tests", "-x"],
        ["common/tests"],
        ["--co", "-q"],
        ["--dist", "load", "-n", workers],
    ]


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


def _collected_order(tmp_path: Path, *options: str) -> list[str]:
    """The order pytest, with the project's configuration, would run 30 tests in."""
    (tmp_path / "test_order.py").write_text(
        "".join(f"def test_{n:02}() -> None:\n    pass\n\n\n" for n in range(30))
    )
    found = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
         str(tmp_path), "--collect-only", "-q", "-p", "no:cacheprovider", *options,
         str(tmp_path / "test_order.py")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [line.rsplit("::", 1)[1] for line in found.stdout.splitlines() if "::" in line]


@pytest.mark.e2e
def test_random_order_shuffles_by_seed_and_the_default_keeps_the_file_order(
    tmp_path: Path,
) -> None:
    in_file = [f"test_{n:02}" for n in range(30)]
    assert _collected_order(tmp_path) == in_file  # the addopts block pytest-randomly
    shuffled = _collected_order(tmp_path, "-p", "randomly", "--randomly-seed=1")
    assert sorted(shuffled) == in_file and shuffled != in_file
    assert _collected_order(tmp_path, "-p", "randomly", "--randomly-seed=1") == shuffled
    assert _collected_order(tmp_path, "-p", "randomly", "--randomly-seed=2") != shuffled


def test_random_order_unblocks_pytest_randomly(ran: PytestRuns) -> None:
    assert cli.main(["test", "--random-order", "--", "--randomly-seed=7"]) == 0
    workers = str(cli.whole_suite_workers())
    assert ran.arguments() == [
        ["-p", "randomly", "--randomly-seed=7", "-n", workers, "--dist", "loadfile"]
    ]


def _collected_files(*extra_env: tuple[str, str]) -> list[str]:
    """The files in the order pytest would run a unit, an e2e and an integration file."""
    files = [
        "common/tests/test_language.py",
        "tests/test_skeletons.py",
        "common/tests/test_queue.py",
    ]
    plain = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}  # not this run's
    found = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        capture_output=True, text=True, check=True, cwd=ROOT, env={**plain, **dict(extra_env)},
    )  # fmt: skip
    return list(
        dict.fromkeys(line.split("::")[0] for line in found.stdout.splitlines() if "::" in line)
    )


@pytest.mark.e2e
def test_an_xdist_worker_runs_the_files_that_start_processes_first_and_keeps_files_whole() -> None:
    unit, e2e, integration = (
        "common/tests/test_language.py",
        "tests/test_skeletons.py",
        "common/tests/test_queue.py",
    )
    assert _collected_files() == [unit, e2e, integration]  # a plain run: as collected
    assert _collected_files(("PYTEST_XDIST_WORKER", "gw1")) == [e2e, integration, unit]


def test_a_parallel_run_hands_whole_files_to_workers(ran: PytestRuns) -> None:
    for options in (["-n", "2"], ["-n2"], ["--numprocesses=auto"], ["-n", "2", "--dist", "load"]):
        assert cli.main(["test", *options]) == 0
    assert cli.main(["test", "--fast", "-n", "0"]) == 0  # a serial quick loop, when asked for
    assert ran.arguments() == [
        ["-n", "2", "--dist", "loadfile"],
        ["-n2", "--dist", "loadfile"],
        ["--numprocesses=auto", "--dist", "loadfile"],
        ["-n", "2", "--dist", "load"],
        ["-m", "unit or integration", "--hypothesis-profile=fast", "-n", "0", "--dist", "loadfile"],
    ]


def test_the_suite_caches_bytecode_even_where_the_shell_turns_it_off(
    ran: PytestRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite starts a few hundred Python processes: without the cache each compiles the
    tree again and pytest rewrites every test module's asserts again."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert cli.main(["test", "-x"]) == 0
    assert "PYTHONDONTWRITEBYTECODE" not in ran.envs[0]
