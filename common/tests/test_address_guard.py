"""The address guard shared by the page reader and outgoing webhooks: names resolve, and a
connection through the guarded session reaches public addresses only."""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest
from aiohttp import web

from common.infrastructure.address_guard import (
    AddressRefused,
    GuardedResolver,
    HostNotFound,
    check_url,
    guarded_session,
    resolve_host,
    why_not_public,
)
from sandbox.server import ScriptedServer


async def test_the_resolver_refuses_a_name_of_a_private_address() -> None:
    with pytest.raises(AddressRefused) as refused:
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    assert refused.value.reason == "loopback" and refused.value.host == "localhost"
    allowed = await GuardedResolver(allow_private=True).resolve("LOCALHOST.", 80)
    assert {r["hostname"] for r in allowed} == {"localhost"}
    assert all(why_not_public(ipaddress.ip_address(r["host"])) for r in allowed)
    await GuardedResolver(allow_private=True).close()


async def test_an_unknown_host_is_not_found() -> None:
    with pytest.raises(HostNotFound):
        await resolve_host("no-such-host.invalid", 80)


async def test_a_guarded_session_connects_by_name_only_where_allowed() -> None:
    server = ScriptedServer("/hook", lambda: web.Response(text="ok"), method="POST")
    await server.start()
    try:
        url = f"http://localhost:{server.port}/hook"
        async with guarded_session(5.0, allow_private=False) as http:
            with pytest.raises(aiohttp.ClientConnectorError) as failed:
                await http.post(url)
            assert isinstance(failed.value.os_error, AddressRefused)
        assert server.hits == 0
        async with (
            guarded_session(5.0, allow_private=True) as http,
            http.post(url) as response,
        ):
            assert await response.text() == "ok"
    finally:
        await server.stop()


async def test_a_url_without_a_readable_host_is_not_found() -> None:
    with pytest.raises(HostNotFound):
        await check_url("http://[::1/hook", allow_private=False)
