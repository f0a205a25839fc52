"""The assistant sends an LLM provider the key stored (encrypted) in that provider's row, and
no other: a plaintext OPENAI_API_KEY in its environment is never read, so it can neither
stand in for a row's key nor follow a keyless provider to its URL. A provider with no key
(a local endpoint) is called without one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from assistant.src.assistants.model_order import model_routes
from assistant.src.clients.llm import LlmGateway, ModelRoute
from assistant.src.settings import Settings
from common.infrastructure.wire import ConfigSnapshot, LLMModel
from sandbox.llm_server import LlmStandIn

HELLO = [{"role": "user", "content": "hello"}]
ENV_KEY = "sk-plaintext-from-the-environment"
ROW_KEY = "sk-from-the-provider-row"


@pytest.fixture
def settings(llm: LlmStandIn, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as the process reads them, with a plaintext key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
    return Settings(environment="test", _env_file=None)


def configured(llm: LlmStandIn, provider_id: uuid.UUID) -> ConfigSnapshot:
    now = datetime.now(UTC)
    provider = {"id": provider_id, "name": "keyed", "base_url": llm.base_url}
    default = LLMModel.model_validate(
        {
            "id": uuid.uuid4(),
            "name": "configured-default",
            "provider_model_name": "configured-default",
            "display_name": None,
            "provider_id": provider_id,
            "provider": provider,
            "is_default": True,
            "is_fallback": False,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
    )
    return ConfigSnapshot(version=1, secretary=None, assistants=(), models=(default,))


async def keys_sent(
    settings: Settings, llm: LlmStandIn, rows: Mapping[str | None, str | None], *routes
):
    async def stored(provider_id: str) -> str | None:
        return rows[provider_id]

    gateway = LlmGateway(settings, stored)
    try:
        llm.reply("hi", times=None)
        completion = await gateway.complete(list(routes), HELLO)
    finally:
        await gateway.aclose()
    assert completion.content == "hi"
    return {request.api_key for request in llm.requests}


async def test_a_provider_without_a_key_is_called_without_the_environments(
    settings: Settings, llm: LlmStandIn
) -> None:
    local = ModelRoute("local-model", llm.base_url, str(uuid.uuid4()))
    sent = await keys_sent(settings, llm, {local.provider_id: None}, local)
    assert ENV_KEY not in sent


async def test_a_provider_with_a_key_is_called_with_its_own(
    settings: Settings, llm: LlmStandIn
) -> None:
    keyed = ModelRoute("keyed-model", llm.base_url, str(uuid.uuid4()))
    assert await keys_sent(settings, llm, {keyed.provider_id: ROW_KEY}, keyed) == {ROW_KEY}


async def test_a_model_the_configuration_does_not_list_runs_on_the_default_models_provider(
    settings: Settings, llm: LlmStandIn
) -> None:
    provider_id = uuid.uuid4()
    routes = model_routes(
        configured(llm, provider_id), settings, preferred=None, assistant_model="unlisted"
    )
    assert {r.provider_id for r in routes} == {str(provider_id)}
    assert await keys_sent(settings, llm, {str(provider_id): ROW_KEY}, *routes) == {ROW_KEY}


async def test_before_any_configuration_no_key_is_sent(settings: Settings, llm: LlmStandIn) -> None:
    empty = ConfigSnapshot(version=0, secretary=None, assistants=(), models=())
    routes = model_routes(empty, settings, preferred=None, assistant_model=None)
    assert {r.base_url for r in routes} == {llm.base_url}
    assert ENV_KEY not in await keys_sent(settings, llm, {}, *routes)


async def test_a_rotated_key_is_read_again_once_the_config_changes(
    settings: Settings, llm: LlmStandIn
) -> None:
    keyed = ModelRoute("keyed-model", llm.base_url, str(uuid.uuid4()))
    rows = {keyed.provider_id: "sk-old"}
    reads: list[str] = []

    async def stored(provider_id: str) -> str | None:
        reads.append(provider_id)
        return rows[provider_id]

    gateway = LlmGateway(settings, stored)
    llm.reply("hi", times=None)
    try:
        await gateway.warm_up()  # the SDK's first use, before any message: no request
        for _ in range(2):
            await gateway.complete([keyed], HELLO)
        rows[keyed.provider_id] = "sk-new"
        await gateway.complete([keyed], HELLO)  # the config has not changed: the kept key
        gateway.forget_keys()  # what a config change does
        await gateway.complete([keyed], HELLO)
    finally:
        await gateway.aclose()
    assert len(reads) == 2
    assert [r.api_key for r in llm.requests] == ["sk-old"] * 3 + ["sk-new"]
