"""`/readyz`'s verdict: every check at once, a hanging one cut at the timeout and named, a
failing one named by its error type (never its message, which may hold a URL with a password)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from common.infrastructure.probes import liveness_body, readiness


async def _ok() -> None:
    return None


async def _hangs() -> None:
    await asyncio.sleep(30)


async def _refused() -> None:
    raise ConnectionRefusedError("redis://:secret@10.0.0.1:6379 refused")


async def test_all_checks_answering_is_ready() -> None:
    status, body = await readiness("svc", {"redis": _ok, "postgres": _ok})
    assert status == 200
    assert body == {
        "status": "ready",
        "service": "svc",
        "failing": [],
        "checks": {"redis": {"ok": True}, "postgres": {"ok": True}},
    }


def _recorded(name: str, events: list[str]) -> Callable[[], Awaitable[None]]:
    """`_hangs`, noting when it starts and when it is cut."""

    async def check() -> None:
        events.append(f"{name} started")
        try:
            await _hangs()
        finally:
            events.append(f"{name} cut")

    return check


async def test_a_hanging_check_is_cut_at_the_timeout_and_named() -> None:
    events: list[str] = []
    checks = {"a": _recorded("a", events), "b": _recorded("b", events), "c": _ok}
    status, body = await readiness("svc", checks, timeout=0.2)
    # At once, not one timeout after another: both were started before either was cut.
    assert sorted(events[:2]) == ["a started", "b started"]
    assert sorted(events[2:]) == ["a cut", "b cut"]
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["failing"] == ["a", "b"]
    assert body["checks"]["a"] == {"ok": False, "error": "no answer within 0.2 s"}


async def test_a_failing_check_is_named_by_its_error_type_only() -> None:
    status, body = await readiness("svc", {"redis": _refused})
    assert status == 503
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionRefusedError"}
    assert "secret" not in str(body)


async def test_no_checks_is_ready() -> None:
    assert (await readiness("svc", {}))[0] == 200


def test_liveness_names_the_service() -> None:
    assert liveness_body("svc") == {"status": "ok", "service": "svc"}
