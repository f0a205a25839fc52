"""The dashboard's health probe: `/readyz`, `/health` for a service without it, a 503 with
its failing checks named, and a service that does not answer shown as down (never hanging)."""

from __future__ import annotations

import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops.infra import free_port
from rest_service.app.admin.dashboard import HEALTH_TIMEOUT_S, probe


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _not_ready(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "not_ready", "failing": ["redis"]}, status_code=503)


OLD = Starlette(routes=[Route("/health", _health)])
FAILING = Starlette(routes=[Route("/readyz", _not_ready), Route("/health", _health)])


async def test_a_service_without_readyz_is_asked_its_health() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=OLD)) as client:
        found = await probe(client, "old", "http://old")
    assert (found.state, found.probe) == ("ready", "/health")


async def test_a_failing_readiness_names_the_check() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=FAILING)) as client:
        found = await probe(client, "svc", "http://svc")
    assert found.state == "not ready" and "redis" in found.detail


async def test_a_service_that_does_not_answer_is_down() -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:
        found = await probe(client, "gone", f"http://127.0.0.1:{free_port()}")
    assert found.state == "down" and found.detail
    assert time.monotonic() - started < HEALTH_TIMEOUT_S + 1
