"""Services a fixture keeps beyond one test file (session or package scope) run none of
rest_service's background loops. Loaded by the root conftest.py.

The loops (webhook delivery, retention, the handoff sweep: `REST_LOOPS_OFF`) act on every row
of their database, and the session's database is every file's: a rest_service kept for the
session outlives the file that started it and claims what later files commit. A random-order
run saw it: a shared rest_service's delivery worker, with the default address guard, claimed
the racing webhook workers' deliveries and refused them as private addresses. The tests of a
loop start a rest_service of their own for the test or the module. A shared one with a loop on
fails the test that starts it, not a later test it would have disturbed."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from ops.processes import ServiceProcess, Stack
from tests.harness import REST_LOOPS_OFF

#: Fixture scopes that outlive a test file.
SHARED_SCOPES = frozenset({"session", "package"})


def processes_of(value: object) -> Iterator[ServiceProcess]:
    """The service processes a fixture's value holds: itself, a `Stack`'s, or its `.stack`'s."""
    if isinstance(value, ServiceProcess):
        yield value
        return
    stack = value if isinstance(value, Stack) else getattr(value, "stack", None)
    if isinstance(stack, Stack):
        yield from stack.processes.values()


def loops_left_on(value: object) -> list[str]:
    """Each rest_service in `value` with a loop on, and the settings that leave it on."""
    found = []
    for process in processes_of(value):
        if process.service != "rest_service":
            continue
        env = process.env
        on = [f"{k}={env.get(k, '')}" for k, v in REST_LOOPS_OFF.items() if env.get(k) != v]
        if on:
            found.append(f"{process.name} ({', '.join(on)})")
    return found


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    value = yield
    if fixturedef.scope in SHARED_SCOPES:
        left_on = loops_left_on(value)
        if left_on:
            pytest.fail(
                f"{fixturedef.argname} ({fixturedef.scope} scope) keeps a rest_service with "
                f"background loops on: {'; '.join(left_on)}. It outlives this file and would act "
                "on other files' rows: start it with tests.harness.REST_LOOPS_OFF "
                "(tests/shared_services.py)",
                pytrace=False,
            )
    return value
