"""The request body limit: a body over `MAX_REQUEST_BODY_BYTES` is a
413 in our error shape before it is parsed, with or without Content-Length, and the process
does not grow by the size of what a client streams at it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.processes import Stack
from rest_service.tests.conftest import assert_error, unique

MB = 1024 * 1024
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b"x" * part
        sent += part


async def streamed(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked transfer encoding)."""
    for part in chunks(total, size):
        yield part


async def test_a_5_mb_body_with_content_length_is_413(client, service) -> None:
    response = await client.post("/api/users/", content=b"x" * (5 * MB), headers=service)
    body = assert_error(response, 413, "payload_too_large")
    assert str(MB) in body["detail"]


async def test_a_5_mb_chunked_body_is_413(client, service) -> None:
    response = await client.post("/api/users/", content=streamed(5 * MB), headers=service)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


async def test_a_body_under_the_limit_is_read_as_before(client, service) -> None:
    response = await client.post("/api/users/", content=b"x" * (MB - 10), headers=service)
    assert_error(response, 422)


async def test_a_stranger_with_a_huge_declared_body_is_refused_without_it_being_read(
    client,
) -> None:
    response = await client.post("/api/users/", content=streamed(3 * MB))
    assert response.status_code in (401, 413)


async def test_a_realistic_config_over_1_mb_still_imports(client, admin) -> None:
    """Fourteen assistants with long instructions: an export of a real installation."""
    doc = {
        "assistants": [
            {"name": unique("big"), "instructions": "Answer politely. " * 5_000} for _ in range(14)
        ]
    }
    response = await client.post("/api/config/import", json=doc, headers=admin, timeout=60)
    assert len(response.request.content) > MB
    assert response.status_code == 200, response.text


async def test_the_import_limit_still_holds(client, admin) -> None:
    response = await client.post("/api/config/import", content=streamed(17 * MB), headers=admin)
    assert_error(response, 413, "payload_too_large")


@pytest.fixture
async def small_limit_app(
    shared_app: FastAPI, settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "1024")
    async with shared_app.router.lifespan_context(shared_app):
        transport = httpx.ASGITransport(app=shared_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
            yield http


@PROPERTY
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=8),
    declared=st.booleans(),
)
async def test_any_body_is_413_exactly_when_it_passes_the_limit(
    small_limit_app: httpx.AsyncClient, service, sizes: list[int], declared: bool
) -> None:
    total = sum(sizes)

    async def parts() -> AsyncIterator[bytes]:
        for size in sizes:
            yield b"{" * size

    content = b"{" * total if declared else parts()
    response = await small_limit_app.post("/api/users/", content=content, headers=service)
    if total > 1024:
        assert_error(response, 413, "payload_too_large")
    else:
        assert response.status_code == 422, response.text


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
async def test_a_200_mb_stream_does_not_grow_the_real_process(
    stack: Stack, secrets: dict[str, str]
) -> None:
    rest = stack.start("rest_service")
    assert rest.proc is not None
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=rest.url, timeout=120) as http:
        await http.get("/api/users/", headers=service)
        before = _peak_rss_mb(rest.proc.pid)
        response = await http.post("/api/users/", content=streamed(200 * MB, MB), headers=service)
        # a later request answered: the process is done with the stream, its peak is in
        assert (await http.get("/health")).status_code == 200
        grown = _peak_rss_mb(rest.proc.pid) - before
        assert grown < 40, f"peak RSS grew {grown:.0f} MB"
        assert_error(response, 413, "payload_too_large")
        for declared in (True, False):
            content = b"x" * (5 * MB) if declared else streamed(5 * MB)
            assert_error(await http.post("/api/users/", content=content, headers=service), 413)
        assert (await http.get("/health")).status_code == 200
