"""The admin login's per-address limit counts the peer the server sees. X-Forwarded-For is
believed only from a proxy FORWARDED_ALLOW_IPS names: without it, a client on the service's
own host (uvicorn trusts loopback by default) got a fresh counter for every header value.
rest_service runs as a real process (`python -m rest_service`), as it is deployed."""

from __future__ import annotations

import random

import httpx

from ops.processes import ServiceProcess, Stack

#: Each test's failures per address before the lock; the per-name limit is out of the way.
LIMITS = {"ADMIN_LOGIN_FREE_FAILURES_PER_ADDRESS": "3", "ADMIN_LOGIN_FREE_FAILURES": "1000"}


def fresh_address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def failed_logins_each_from_its_own_header(rest: ServiceProcess, count: int) -> list[int]:
    statuses = []
    async with httpx.AsyncClient(base_url=rest.url) as http:
        for i in range(count):
            answer = await http.post(
                "/admin/login",
                data={"username": f"guess-{i}", "password": "wrong password"},
                headers={"Origin": rest.url, "X-Forwarded-For": fresh_address()},
            )
            statuses.append(answer.status_code)
    return statuses


async def test_forwarded_for_from_loopback_shares_the_peers_counter(stack: Stack) -> None:
    rest = stack.start("rest_service", env=LIMITS)
    statuses = await failed_logins_each_from_its_own_header(rest, 8)
    assert statuses[:3] == [400] * 3 and set(statuses[4:]) == {429}, statuses


async def test_a_named_proxy_has_its_forwarded_for_believed(stack: Stack) -> None:
    rest = stack.start("rest_service", env={**LIMITS, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    assert await failed_logins_each_from_its_own_header(rest, 8) == [400] * 8
