"""The services at work on their own scoped tokens, as docker-compose.yml runs them: the
assistant reads its provider's key, google_calendar_service stores a user's credentials and
accepts tg_bot's token, and none of them holds the shared token, the admin token or the
master key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure import service_tokens
from common.infrastructure.queue_messages import ChatType, IncomingMessage
from common.infrastructure.redis_keys import Names
from ops.processes import Stack
from sandbox.google_api import GoogleStandIn, serving_in_thread
from sandbox.llm_server import LlmStandIn
from tests.calendar_stack import Browser, calendar_env, connect, sent_to
from tests.harness import base_env, secretary_config
from tests.waiting import until

SCOPED = {name: f"{name}-{uuid.uuid4().hex}" for name in service_tokens.SCOPES}
#: What compose withholds from every worker (docker-compose.yml: x-no-scoped-tokens).
WITHHELD = {
    "ADMIN_API_TOKEN": "",
    "ADMIN_PASSWORD": "",
    "LLM_MODEL_DECRYPT_KEY": "",
    **{service_tokens.env_name(name): "" for name in service_tokens.SCOPES},
}


def worker_env(service: str, **keep: str) -> dict[str, str]:
    """A worker's environment: its own token as SERVICE_API_TOKEN, nothing else secret."""
    return {**WITHHELD, "SERVICE_API_TOKEN": SCOPED[service], **keep}


@dataclass
class Deployment:
    stack: Stack
    names: Names
    llm: LlmStandIn
    google: GoogleStandIn
    provider_key: str


@pytest.fixture(scope="module")
def deployment(
    database_url: str,
    redis_url: str,
    secrets: dict[str, str],
    session_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    prefix = f"{session_prefix}scoped{uuid.uuid4().hex[:6]}:"
    scoped = {service_tokens.env_name(name): token for name, token in SCOPED.items()}
    env = {**base_env(database_url, redis_url, prefix, secrets), **scoped}
    stack = Stack(env, tmp_path_factory.mktemp("scoped"))
    suffix, key = uuid.uuid4().hex[:8], f"sk-scoped-{uuid.uuid4().hex}"
    with LlmStandIn() as llm, serving_in_thread() as google:
        try:
            stack.start("rest_service")
            stack.import_config(
                secretary_config(
                    provider=f"scoped-{suffix}",
                    base_url=llm.base_url,
                    api_key=key,
                    model=f"m-scoped-{suffix}",
                    secretary=f"scoped-secretary-{suffix}",
                    tools=[],
                )
            )
            callers = {
                service_tokens.env_name(c): SCOPED[c] for c in service_tokens.CALENDAR_CALLERS
            }
            calendar = worker_env("google_calendar_service", **callers)
            stack.start("google_calendar_service", env={**calendar_env(google), **calendar})
            assistant = worker_env(
                "assistant",
                OPENAI_API_KEY="sk-default",
                OPENAI_BASE_URL=llm.base_url,
                CONFIG_POLL_SECONDS="1",
            )
            stack.start("assistant", env=assistant)
            yield Deployment(stack, Names(prefix), llm, google, key)
        finally:
            stack.stop_all()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _user(deployment: Deployment, service: str) -> dict:
    rest = deployment.stack.url("rest_service")
    body = {"telegram_id": uuid.uuid4().int % 10**11 + 10**9, "first_name": "Sam"}
    async with httpx.AsyncClient(base_url=rest, headers=_bearer(SCOPED[service])) as http:
        response = await http.post("/api/users/", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.mark.timeout(120)
async def test_the_assistant_answers_with_its_own_token(
    deployment: Deployment, redis: aioredis.Redis
) -> None:
    user = await _user(deployment, "tg_bot")
    message = IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=int(user["telegram_id"]),
        chat_type=ChatType.PRIVATE,
        user_id=uuid.UUID(user["id"]),
        telegram_user_id=int(user["telegram_id"]),
        first_name="Sam",
        language_code="en",
        text="hello there",
    )
    await redis.xadd(deployment.names.to_secretary, {"data": message.to_json()})

    async def answered() -> bool:
        answers = await sent_to(redis, deployment.names, message.chat_id)
        return any(a.correlation_id == str(message.message_id) for a in answers)

    await until(answered, 30, "an answer")
    assert deployment.provider_key in {r.api_key for r in deployment.llm.requests}


@pytest.mark.timeout(120)
async def test_the_calendar_service_connects_a_user_on_its_own_token(
    deployment: Deployment,
) -> None:
    """tg_bot's token asks for the link (the calendar service accepts it); the calendar
    service stores and confirms the credentials with its own token."""
    user = await _user(deployment, "tg_bot")
    url = deployment.stack.url("google_calendar_service")
    browser = Browser(deployment.google, f"{uuid.uuid4().hex[:8]}@example.com", url)
    async with httpx.AsyncClient(base_url=url, headers=_bearer(SCOPED["tg_bot"])) as api:
        assert (await connect(api, browser, user["id"])).status_code == 200
    async with httpx.AsyncClient(base_url=url, headers=_bearer(SCOPED["cron_service"])) as api:
        assert (await api.get(f"/auth/url/{user['id']}")).status_code == 401
    rest = deployment.stack.url("rest_service")
    path = f"/api/users/{user['id']}/calendar-credentials"
    async with httpx.AsyncClient(base_url=rest) as http:
        mine = await http.get(path, headers=_bearer(SCOPED["google_calendar_service"]))
        assert mine.status_code == 200 and mine.json()["credentials"]["token"]
        for other in ("tg_bot", "assistant", "cron_service", "channels"):
            assert (await http.get(path, headers=_bearer(SCOPED[other]))).status_code == 403
