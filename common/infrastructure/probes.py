"""Kubernetes-style probes shared by every service: `/livez` says the process works (its event
loop answers; no dependency is asked, so an outage never gets a pod restarted), `/readyz` says
the dependencies it cannot work without answer. Each readiness check has a short timeout, so
a probe never hangs on a dead peer; a failing one is named in the 503 body."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import NotRequired, TypedDict

#: The routes every service answers for orchestrators and scrapers (no token, no business).
OPS_ROUTES = frozenset({"/health", "/livez", "/readyz", "/metrics"})

ReadinessCheck = Callable[[], Awaitable[object]]
"""Returns when the dependency answers (its value is ignored), raises when it does not."""

#: Under the manifests' probe timeout (3 s): a dead peer is reported, never waited out.
PROBE_TIMEOUT_S = 2.0


class ExplainedFailure(Exception):
    """A readiness failure whose message is written to be shown (no URL, no secret) and says
    what fixes it: `/readyz` gives it after the type, where other errors give the type only."""


class CheckResult(TypedDict):
    ok: bool
    #: Why it failed (absent when it answered).
    error: NotRequired[str]


class ReadinessBody(TypedDict):
    status: str
    service: str
    #: The checks that failed, by name.
    failing: list[str]
    checks: dict[str, CheckResult]


def liveness_body(service: str) -> dict[str, str]:
    return {"status": "ok", "service": service}


async def _run(check: ReadinessCheck, timeout: float) -> CheckResult:
    try:
        async with asyncio.timeout(timeout):
            await check()
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {timeout:g} s"}
    except ExplainedFailure as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # a probe reports a failure, it never raises one
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


async def readiness(
    service: str, checks: Mapping[str, ReadinessCheck], timeout: float = PROBE_TIMEOUT_S
) -> tuple[int, ReadinessBody]:
    """The status (200 or 503) and body of `/readyz`: every check at once, each bounded."""
    names = list(checks)
    results = await asyncio.gather(*(_run(checks[name], timeout) for name in names))
    found = dict(zip(names, results, strict=True))
    failing = [name for name, result in found.items() if not result["ok"]]
    body: ReadinessBody = {
        "status": "not_ready" if failing else "ready",
        "service": service,
        "failing": failing,
        "checks": found,
    }
    return (503 if failing else 200), body
