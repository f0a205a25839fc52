"""rest_service as a real process (`python -m rest_service`): a write through one instance
is published on `config:updated` and a second instance serves the new version at once."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from ops.processes import Stack
from rest_service.tests.conftest import unique


async def test_a_write_is_published_and_every_instance_serves_it(
    stack: Stack, secrets: dict[str, str], redis: aioredis.Redis, names: Names
) -> None:
    first = stack.start("rest_service")
    second = stack.start("rest_service", name="rest_service_2")
    admin = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    service = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    pubsub = redis.pubsub()
    await pubsub.subscribe(names.config_updated)
    await pubsub.get_message(timeout=1)
    async with httpx.AsyncClient() as http:
        before = (await http.get(f"{second.url}/api/config", headers=service)).json()["version"]
        made = await http.post(
            f"{first.url}/api/assistants/", json={"name": unique("a")}, headers=admin
        )
        assert made.status_code == 201
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert message is not None and int(message["data"]) == before + 1
        snapshot = (await http.get(f"{second.url}/api/config", headers=service)).json()
        assert snapshot["version"] == before + 1
        assert made.json()["name"] in {a["name"] for a in snapshot["assistants"]}
        health = (await http.get(f"{first.url}/health")).json()
        assert health["status"] == "ok" and health["postgres"] == "ok" and health["redis"] == "ok"
    await pubsub.aclose()
