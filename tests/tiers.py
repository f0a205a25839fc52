"""Every test's tier, from what it touches (loaded by the root conftest.py).

- ``unit``: no servers, no processes.
- ``integration``: Postgres or Redis, or a stand-in server in the test's own process.
- ``e2e``: real processes (the services, the stand-ins run as programs, Redis topologies,
  embedded servers, `manage.py` and other programs a test runs).
- ``policy``: the rules the tree keeps (style and types, manifests, compose files, alert
  rules, `.env.example`).

The tier is worked out at collection from the fixtures a test requests, directly or through
other fixtures: the fixtures below, named by the file that defines them (a name alone is
ambiguous: `rest` is an app in this process in rest_service's tests and a process in the
assistant's). A module whose tests start processes in their own body, and the policy modules,
say so with a module marker (`pytestmark = pytest.mark.e2e`). While a unit or integration test
runs, starting a process fails it with a message that says so, so a missing marker shows up in
the first `--fast` run rather than as a slow quick run.

The Hypothesis profiles are registered here too: `full` (each test's own numbers; the default)
and `fast` (at most FAST_EXAMPLES examples a test; `./manage.py test --fast` loads it).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

TIERS = ("unit", "integration", "e2e", "policy")
#: What `./manage.py test --fast` selects.
FAST_TIERS = ("unit", "integration")
FAST_EXAMPLES = 10

settings.register_profile("full", deadline=None)
settings.register_profile("fast", max_examples=FAST_EXAMPLES, deadline=None)
settings.load_profile("full")

#: Fixtures that reach Postgres or Redis, or serve HTTP from a stand-in in this process.
INTEGRATION_FIXTURES = frozenset(
    {
        "tests/harness.py:postgres_server",
        "tests/harness.py:redis_url",
        "tests/calendar_stack.py:google_server",
        "assistant/tests/conftest.py:llm",
        "assistant/tests/conftest.py:open_meteo",
        "assistant/tests/test_web_read_page.py:search",
        "assistant/tests/test_web_read_page.py:tls_site",
        "assistant/tests/test_web_search.py:search",
        "channels/tests/whatsapp/test_adapter.py:api",
        "common/tests/test_rest_client.py:server",
        "common/tests/test_tracing.py:receiver",
        "common/tests/test_retry.py:server",
        "common/tests/test_timezones.py:open_meteo",
        "cron_service/tests/test_with_assistant.py:llm",
        "google_calendar_service/tests/test_calendar_end_to_end.py:llm",
        "google_calendar_service/tests/test_google_stand_in.py:google",
        "google_calendar_service/tests/test_google_stand_in_manage.py:google",
        "tg_bot/tests/conftest.py:telegram",
        "tg_bot/tests/client/test_telegram_errors.py:server",
        "tg_bot/tests/handlers/test_timezone.py:open_meteo",
        "tg_bot/tests/workers/test_webhook.py:balancer",
        "tests/test_chat.py:llm",
        "tests/test_chat.py:weather",
        "tests/test_drills.py:llm",
        "tests/test_drills.py:telegram",
        "tests/test_manage_stack.py:llm",
        "tests/test_demo_console.py:world",
        "tests/test_scaling.py:llm",
        "tests/test_security.py:llm",
        "channels/tests/conftest.py:slack",
    }
)

#: Fixtures that start processes: the services (a `Stack`), stand-ins run as programs, Redis
#: topologies, private and embedded servers.
E2E_FIXTURES = frozenset(
    {
        "tests/harness.py:stack",
        "tests/conftest.py:whole_system",
        "tests/conftest.py:embedded_data_dir",
        "tests/test_pgvector_recall.py:pgvector_url",
        "tests/calendar_stack.py:shared_stack",
        "tests/calendar_stack.py:rest_process",
        "tests/calendar_stack.py:calendar_process",
        "tests/redis_topologies.py:redis_cluster",
        "tests/redis_topologies.py:redis_sentinel",
        "assistant/tests/conftest.py:platform",
        "assistant/tests/test_mcp_tools.py:mcp_server",
        "channels/tests/test_sender.py:service",
        "channels/tests/test_web_chat.py:system",
        "channels/tests/test_email_end_to_end.py:mail",
        "channels/tests/test_email_end_to_end.py:system",
        "common/tests/test_blob_budget.py:full",
        "cron_service/tests/conftest.py:backend",
        "cron_service/tests/conftest.py:stack",
        "google_calendar_service/tests/test_calendar_end_to_end.py:assistant_process",
        "rest_service/tests/test_admin_browser.py:browser",
        "rest_service/tests/test_admin_browser.py:server",
        "rest_service/tests/test_admin_conversations_browser.py:on_a_new_database",
        "rest_service/tests/test_admin_dashboard_browser.py:system",
        "tg_bot/tests/conftest.py:rest_service",
        "tg_bot/tests/conftest.py:own_rest",
        "tests/test_drills.py:make_pipeline",
        "tests/test_drills.py:private_postgres",
        "tests/test_drills.py:private_redis",
        "tests/test_manage_stack.py:private_redis",
        "tests/test_managed_postgres.py:pgbouncer",
        "tests/test_managed_postgres.py:tls_postgres",
        "tests/test_mcp_end_to_end.py:orders_server",
        "tests/harness.py:module_rest_service",
        "tests/test_scaling.py:platform",
        "tests/test_scoped_services.py:deployment",
        "tests/test_security.py:deployment",
        "tests/test_whatsapp_end_to_end.py:world",
        "tests/test_slack_end_to_end.py:slack_system",
    }
)

HARNESS = "tests/harness.py:"


class TierError(Exception):
    """A test's tier markers contradict each other or what its fixtures touch."""


def definition(fixturedef: Any) -> str:
    """`file:name` of a fixture definition, the file relative to the repository."""
    return f"{_shown(fixturedef.func.__code__.co_filename)}:{fixturedef.argname}"


@functools.cache
def _shown(filename: str) -> str:
    """Asked for each fixture of each test (some 100 000 times a collection), of a few hundred
    files: a path's operations each time took half a second of each worker's collection."""
    path = Path(filename)
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def definitions(item: pytest.Item) -> set[str]:
    """The fixture definitions `item` uses, directly or through other fixtures."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    return {definition(fd) for fds in info.name2fixturedefs.values() for fd in fds}


def touched(used: Iterable[str]) -> str:
    """The tier the fixture definitions `used` put a test in."""
    found = set(used)
    if found & E2E_FIXTURES:
        return "e2e"
    if found & INTEGRATION_FIXTURES:
        return "integration"
    return "unit"


def tier_of(used: Iterable[str], marked: Iterable[str]) -> str:
    """A test's tier: the one it is marked with, else the one its fixtures put it in. A mark
    may raise the tier (a body that starts processes), never lower it."""
    named = sorted(set(marked))
    derived = touched(used)
    if len(named) > 1:
        raise TierError(f"marked with several tiers: {', '.join(named)}")
    if not named:
        return derived
    tier = named[0]
    if tier != "policy" and TIERS.index(tier) < TIERS.index(derived):
        raise TierError(f"marked {tier}, but its fixtures make it {derived}")
    return tier


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_refuse_processes)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fast = settings.get_current_profile_name() == "fast"
    wrong = []
    for item in items:
        marked = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        try:
            tier = tier_of(definitions(item), marked)
        except TierError as exc:
            wrong.append(f"{item.nodeid}: {exc}")
            continue
        if not marked:
            item.add_marker(getattr(pytest.mark, tier))
        if fast:
            _few_examples(item)
    if wrong:
        raise pytest.UsageError("tests/tiers.py:\n" + "\n".join(wrong))
    if worker_of_xdist():
        items[:] = heaviest_files_first(items)


#: The order files go to xdist's workers in: those that start processes take longest, so they
#: start first and the quick tests fill the end, instead of one worker finishing a drill alone.
HEAVY_FIRST = ("e2e", "policy", "integration", "unit")


def worker_of_xdist() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


def heaviest_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """`items` with each file's tests kept together and in their order (module fixtures set up
    once), the files ordered by their heaviest tier (HEAVY_FIRST), else as collected. The same
    on every worker, as xdist requires."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def weight(tests: list[pytest.Item]) -> int:
        return min(HEAVY_FIRST.index(tier(item)) for item in tests)

    ordered = sorted(files.values(), key=weight)  # stable: collection order within a weight
    return [item for tests in ordered for item in tests]


def tier(item: pytest.Item) -> str:
    """The tier `item` was given at collection."""
    return next(mark.name for mark in item.iter_markers() if mark.name in TIERS)


def examples(wanted: int) -> int:
    """`wanted`, capped by the fast profile: for a property a test defines in its own body,
    which collection (`_few_examples`) cannot reach."""
    if settings.get_current_profile_name() == "fast":
        return min(wanted, FAST_EXAMPLES)
    return wanted


def _few_examples(item: pytest.Item) -> None:
    """A test's own `@settings(max_examples=...)` wins over a profile; the fast one caps it."""
    test = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
    own = getattr(test, "_hypothesis_internal_use_settings", None)
    if test is not None and own is not None and own.max_examples > FAST_EXAMPLES:
        test._hypothesis_internal_use_settings = settings(own, max_examples=FAST_EXAMPLES)


#: The tier of the unit or integration test running now: processes are refused to it (in any
#: thread: `asyncio.to_thread` is the test too).
_guarded: list[str] = []


def _refuse_processes(event: str, args: tuple[Any, ...]) -> None:
    if _guarded and event in ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec"):
        raise RuntimeError(
            f"a {_guarded[-1]} test started a process ({args[0]!r}); it is an e2e test: request "
            "a fixture that starts processes, or mark its module `pytestmark = pytest.mark.e2e` "
            "(tests/tiers.py)"
        )


@contextmanager
def _refusing(item: pytest.Item) -> Iterator[None]:
    found = tier(item)
    if found not in FAST_TIERS:
        yield
        return
    _guarded.append(found)
    try:
        yield
    finally:
        _guarded.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _refusing(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _refusing(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The shared harness's session fixtures (the servers, the session's database, embedded
    servers on a bare machine) may start processes for a test of any tier."""
    shared = fixturedef.scope == "session" and definition(fixturedef).startswith(HARNESS)
    if not _guarded or not shared:
        return (yield)
    held = _guarded.copy()
    _guarded.clear()
    try:
        return (yield)
    finally:
        _guarded.extend(held)
