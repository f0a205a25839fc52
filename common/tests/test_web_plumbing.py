"""The FastAPI plumbing every service shares, on a small app of its own (in-process): who may
call which route, the probes and metrics, and a state read before the lifespan made it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette

from common.infrastructure.probes import ExplainedFailure, ReadinessCheck
from common.infrastructure.service_tokens import Caller, Right, TokenTable
from common.infrastructure.web import (
    StateSlot,
    add_ops_routes,
    add_probe_routes,
    current_caller,
    install_bearer_auth,
    install_error_handlers,
    require_admin,
    require_right,
)

ADMIN, TG_BOT = "a" * 32, "t" * 32
READY: dict[str, bool] = {}


def build() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    tokens = TokenTable(ADMIN, ((TG_BOT, "tg_bot"),))
    install_bearer_auth(app, lambda _app: tokens, lambda path: path.startswith("/api"))

    @app.get("/api/anyone")
    async def anyone(caller: Caller = Depends(current_caller)) -> dict[str, str]:
        return {"role": caller.role.value, "scope": caller.scope}

    @app.get("/api/admin")
    async def admin(_caller: Caller = Depends(require_admin)) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/keys")
    async def keys(
        _caller: Caller = Depends(require_right(Right.provider_keys, "read provider keys")),
    ) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/open")
    async def open_route(caller: Caller = Depends(current_caller)) -> dict[str, str]:
        return {"scope": caller.scope}

    async def postgres() -> None:
        if not READY.get("postgres"):
            raise ExplainedFailure("Postgres does not answer")

    def checks(_app: Starlette) -> dict[str, ReadinessCheck]:
        return {"postgres": postgres}

    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    add_probe_routes(app, "tiny", checks)
    add_ops_routes(app, health)
    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://tiny") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_admin_route_refuses_a_service_token_and_a_right_refuses_the_admin(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get("/api/admin", headers=bearer(ADMIN))).status_code == 200
    refused = await http.get("/api/admin", headers=bearer(TG_BOT))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this route needs the admin token"
    admin_there = await http.get("/api/keys", headers=bearer(ADMIN))
    assert admin_there.status_code == 403
    assert admin_there.json()["detail"] == "this route is for the service tokens only"
    no_right = await http.get("/api/keys", headers=bearer(TG_BOT))
    assert no_right.status_code == 403
    assert no_right.json()["detail"] == "the tg_bot service token may not read provider keys"
    me = await http.get("/api/anyone", headers=bearer(TG_BOT))
    assert me.json() == {"role": "service", "scope": "tg_bot"}


async def test_a_route_outside_the_protected_paths_that_needs_a_caller_is_401(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/open", headers=bearer(ADMIN))
    assert answer.status_code == 401
    assert answer.json()["detail"] == "missing bearer token"
    assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_the_probes_name_what_is_not_ready_and_metrics_are_served(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get("/livez")).json() == {"status": "ok", "service": "tiny"}
    READY["postgres"] = False
    not_ready = await http.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["postgres"]["error"] == (
        "ExplainedFailure: Postgres does not answer"
    )
    READY["postgres"] = True
    assert (await http.get("/readyz")).status_code == 200
    assert (await http.get("/health")).json() == {"status": "ok"}
    metrics = await http.get("/metrics")
    assert metrics.status_code == 200 and "# TYPE" in metrics.text


def test_a_state_read_before_the_lifespan_made_it_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="dict is read before the app's lifespan made it"):
        StateSlot(dict, "calendar").of_app(Starlette())
