"""The `draw` tool in this process against the LLM stand-in's `/v1/images/generations`: whatever
arguments a model writes, the request sent is one the images API accepts and the outcome is a
picture or words for the model; a redelivered message draws nothing twice; a channel that shows
no pictures is refused before anything is asked; an answer without a picture is a failure."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.assistants.base import TurnTokens
from assistant.src.assistants.drawing import Painter
from assistant.src.clients.images import DrawRefused, NotDrawn
from assistant.src.clients.llm import LlmGateway
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.draw_tool import MAX_PROMPT_CHARS, DrawTool
from assistant.tests.support import tool_spec
from common.features.blobs import BlobStore
from common.features.limits import TokenBudget
from common.features.texts import TEXTS
from common.infrastructure.channels import Channel
from common.infrastructure.wire import ConfigSnapshot, LLMModel, ModelCapability
from sandbox.llm_server import LlmStandIn
from tests.tiers import examples

SCHEMA = {
    "type": "object",
    "properties": {"prompt": {"type": "string"}, "size": {"type": "string"}},
    "required": ["prompt"],
}


def snapshot(llm: LlmStandIn) -> ConfigSnapshot:
    now = datetime.now(UTC)
    provider = {"id": uuid.uuid4(), "name": "sandbox", "base_url": llm.base_url}
    painter = LLMModel.model_validate(
        {
            "id": uuid.uuid4(), "name": "dall-e-3", "provider_model_name": "dall-e-3",
            "display_name": None, "provider_id": provider["id"], "provider": provider,
            "is_default": False, "is_fallback": False, "is_active": True,
            "capabilities": [ModelCapability.image], "created_at": now, "updated_at": now,
        }
    )  # fmt: skip
    return ConfigSnapshot(version=1, secretary=None, assistants=(), models=(painter,))


async def _keys(_provider_id: str) -> str:
    return "sk-test"


@dataclasses.dataclass
class Drawer:
    tool: DrawTool
    painter: Painter
    budget: TokenBudget

    def call(self, *, channel: Channel = Channel.TELEGRAM, message_id: str = "") -> ToolCallOrigin:
        actor = Actor(
            user_id="u-draw", conversation_key="u-draw", chat_id=1, timezone="UTC",
            language="en", answer_channel=channel,
        )  # fmt: skip
        return ToolCallOrigin(actor, message_id or str(uuid.uuid4()), uuid.UUID(int=1), "0", 0)


@pytest.fixture
async def drawer(
    settings: Settings, services: ToolServices, llm: LlmStandIn, redis, names
) -> AsyncIterator[Drawer]:
    gateway = LlmGateway(settings, _keys)
    budget = TokenBudget(redis, names, 0)
    painter = Painter(
        settings, snapshot(llm), gateway, BlobStore(redis, names), names, TurnTokens(), budget
    )
    tool = DrawTool(
        tool_spec("draw", input_schema=SCHEMA), dataclasses.replace(services, painter=painter)
    )
    try:
        yield Drawer(tool, painter, budget)
    finally:
        await gateway.aclose()


async def test_a_redelivered_message_finds_its_picture_and_counts_it_once(
    drawer: Drawer, llm: LlmStandIn
) -> None:
    call = drawer.call()
    first = await drawer.tool.run({"prompt": "a cat"}, call)
    again = await drawer.tool.run({"prompt": "a cat"}, call)
    assert first["drawn"] and again["drawn"]
    assert len(llm.media.requests) == 1
    assert drawer.painter.tokens.completion == drawer.painter.settings.image_token_cost
    assert await drawer.budget.used_today("u-draw") == drawer.painter.settings.image_token_cost


async def test_a_second_picture_in_one_answer_is_refused_and_an_uncounted_painter_draws(
    drawer: Drawer, llm: LlmStandIn
) -> None:
    first = drawer.call()
    second = dataclasses.replace(first, position="1")
    uncounted = dataclasses.replace(drawer.painter, budget=None)
    tool = DrawTool(drawer.tool.spec, dataclasses.replace(drawer.tool.services, painter=uncounted))
    assert (await tool.run({"prompt": "a cat"}, first))["drawn"]
    with pytest.raises(ToolError, match="one picture per answer"):
        await tool.run({"prompt": "a dog"}, second)
    assert len(llm.media.requests) == 1 and await drawer.budget.used_today("u-draw") == 0


async def test_a_channel_without_pictures_is_refused_before_anything_is_asked(
    drawer: Drawer, llm: LlmStandIn
) -> None:
    with pytest.raises(ToolError) as refused:
        await drawer.tool.run({"prompt": "a cat"}, drawer.call(channel=Channel.SLACK))
    assert TEXTS.text("en", "assistant.draw.not_here") in str(refused.value)
    assert llm.media.requests == []


async def test_an_answer_without_a_picture_is_a_failure_and_frees_the_answer(
    drawer: Drawer, llm: LlmStandIn, redis, names
) -> None:
    llm.media.fail(200)
    call = drawer.call()
    with pytest.raises(ToolError) as failed:
        await drawer.tool.run({"prompt": "a cat"}, call)
    assert TEXTS.text("en", "assistant.draw.failed") in str(failed.value)
    assert not await redis.exists(names.picture_drawn(call.message_id))
    assert drawer.painter.tokens.completion == 0


async def test_a_painter_without_an_image_model_says_so(drawer: Drawer) -> None:
    bare = dataclasses.replace(
        drawer.painter, snapshot=ConfigSnapshot(version=1, secretary=None, assistants=(), models=())
    )
    with pytest.raises(DrawRefused) as refused:
        await bare.draw("a cat", "1024x1024", user_id="u", blob_id="x")
    assert refused.value.reason is NotDrawn.NO_MODEL


_SIZES = st.one_of(
    st.none(), st.sampled_from(["1024x1024", "1024x1792", "1792x1024", "512x512", "big", ""]),
    st.integers(), st.text(max_size=12),
)  # fmt: skip


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prompt=st.one_of(st.text(max_size=1500), st.none(), st.integers()), size=_SIZES)
async def test_any_arguments_send_a_request_the_api_accepts_or_none(
    drawer: Drawer, llm: LlmStandIn, prompt: object, size: object
) -> None:
    llm.media.reset()
    try:
        result = await drawer.tool.run({"prompt": prompt, "size": size}, drawer.call())
    except ToolError as exc:
        assert "empty" in str(exc) and not llm.media.requests
        return
    assert result["drawn"] is True and result["size"] in ("1024x1024", "1024x1792", "1792x1024")
    (sent,) = llm.media.requests
    assert sent.status == 200 and 0 < len(sent.fields["prompt"]) <= MAX_PROMPT_CHARS
    assert sent.fields["prompt"] == sent.fields["prompt"].strip()
