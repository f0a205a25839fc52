"""Pictures made on request, end to end: the assistant process answers "draw ..." through
rest_service's config (the secretary linked to the shipped `draw` tool, a model with capability
`image`) and the LLM stand-in's `/v1/images/generations` over real HTTP; the answer carries
the picture's blob for tg_bot to send as a photo, counted in the answer's usage and the user's
daily token budget. Without an image model, or when the provider refuses or fails, the user
is told politely in their language and nothing is drawn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.src.tools.draw_tool import ONE_PER_ANSWER
from assistant.tests.support import Deployment
from common.features.blobs import BlobStore
from common.features.limits import utc_day
from common.features.texts import TEXTS
from common.infrastructure.queue_messages import OutgoingMessage
from ops.services import ROOT
from sandbox.llm_server import RecordedRequest, Step, ToolCallStep

SHIPPED = next(
    t
    for t in json.loads((ROOT / "rest_service/seed/default_config.json").read_text("utf-8"))[
        "tools"
    ]
    if t["tool_type"] == "draw"
)
#: What one picture counts, in tokens (the assistant's default `IMAGE_TOKEN_COST`).
IMAGE_TOKEN_COST = 4_000


def said(key: str, language: str) -> str:
    return TEXTS.text(language, f"assistant.draw.{key}")


@dataclass
class Drawing:
    """This module's draw tool (linked to the test secretary) and its image model."""

    deployment: Deployment
    tool: str
    model: str

    def set_model(self, *, active: bool) -> None:
        self.deployment.import_models([(self.model, ["image"], active)])

    async def seen(self) -> None:
        await self.deployment.platform.config_seen(self.deployment.rest)

    def draws(self, prompt: str, answer: str, *, contains: str) -> None:
        """The model calls the tool for the message containing `contains`, then answers."""
        llm = self.deployment.llm
        llm.call(self.tool, {"prompt": prompt, "size": "1024x1024"}, contains=contains)
        llm.reply(answer)


@pytest.fixture
async def drawing(deployment: Deployment) -> AsyncIterator[Drawing]:
    suffix = deployment.config.suffix
    found = Drawing(deployment, f"draw-{suffix}", f"painter-{suffix}")
    deployment.platform.import_config(
        {
            "tools": [{**SHIPPED, "name": found.tool}],
            "links": [{"assistant": deployment.config.secretary, "tool": found.tool}],
        }
    )
    found.set_model(active=True)
    await deployment.assistant()
    await found.seen()
    try:
        yield found
    finally:
        found.set_model(active=False)
        tools = await deployment.admin.get_json("/api/tools/", limit=1000)
        for tool in tools:
            if tool["name"] == found.tool:
                await deployment.admin.delete(f"/api/tools/{tool['id']}", cascade="true")
        await found.seen()


def tool_result(request: RecordedRequest) -> Any:
    """The draw tool's result as the model read it in its next request."""
    (result,) = [m for m in request.messages if m["role"] == "tool"]
    return json.loads(result["content"])


def chat_tokens(deployment: Deployment) -> int:
    """The tokens the stand-in reported for this test's completions."""
    reported = [r.usage or {} for r in deployment.llm.requests]
    return sum(u.get("prompt_tokens", 0) + u.get("completion_tokens", 0) for u in reported)


def images(deployment: Deployment) -> list[Any]:
    return [r for r in deployment.llm.media.requests if r.endpoint == "images"]


async def test_draw_a_cat_answers_with_the_picture_and_counts_it(
    deployment: Deployment, drawing: Drawing
) -> None:
    ann = await deployment.user("Ann")
    drawing.draws("a ginger cat in a white spacesuit", "Here is your cat!", contains="draw a cat")

    reply = await deployment.ask(ann, "draw a cat in a spacesuit")

    assert reply.text == "Here is your cat!" and reply.photo_blob_key is not None
    picture = await BlobStore(deployment.redis, deployment.names).get(reply.photo_blob_key)
    assert picture is not None and picture.startswith(b"\x89PNG\r\n\x1a\n")
    (made,) = images(deployment)
    assert made.status == 200 and made.model == drawing.model
    assert made.fields == {
        "model": drawing.model,
        "prompt": "a ginger cat in a white spacesuit",
        "size": "1024x1024",
        "n": 1,
        "response_format": "b64_json",
    }
    assert tool_result(deployment.llm.requests[-1])["drawn"] is True
    chat = chat_tokens(deployment)
    assert reply.usage is not None
    assert reply.usage.completion_tokens >= IMAGE_TOKEN_COST
    assert reply.usage.total_tokens == chat + IMAGE_TOKEN_COST
    spent = await deployment.redis.get(deployment.names.user_tokens_today(str(ann.id), utc_day()))
    assert int(spent or 0) == chat + IMAGE_TOKEN_COST
    usage = await deployment.rest.user_usage(ann.id, datetime.now(UTC) - timedelta(hours=1))
    assert usage.tool_calls == 1 and usage.images == 1


@pytest.mark.parametrize(
    ("language", "text"), [("en", "draw a dragon, please"), ("ru", "нарисуй дракона, пожалуйста")]
)
async def test_without_an_image_model_the_user_is_told_politely_and_nothing_is_asked(
    deployment: Deployment, drawing: Drawing, language: str, text: str
) -> None:
    """The turn speaks the language the message is written in."""
    drawing.set_model(active=False)
    await drawing.seen()
    bo = await deployment.user("Bo", language=language)
    drawing.draws("a dragon", said("no_model", language), contains=text)

    reply = await deployment.ask(bo, text)

    assert reply.photo_blob_key is None and reply.text == said("no_model", language)
    assert said("no_model", language) in tool_result(deployment.llm.requests[-1])["error"]
    assert images(deployment) == []


async def test_a_prompt_the_provider_refuses_is_a_polite_refusal_and_not_retried(
    deployment: Deployment, drawing: Drawing
) -> None:
    cy = await deployment.user("Cy", language="de")
    deployment.llm.media.fail(400)
    text = "Zeichne mir bitte etwas Verbotenes"
    drawing.draws("something forbidden", "Das geht leider nicht.", contains=text)

    reply = await deployment.ask(cy, text)

    assert reply.photo_blob_key is None
    assert said("refused", "de") in tool_result(deployment.llm.requests[-1])["error"]
    assert [r.status for r in images(deployment)] == [400]
    usage = await deployment.rest.user_usage(cy.id, datetime.now(UTC) - timedelta(hours=1))
    assert usage.images == 0


async def test_a_provider_failing_after_its_retries_is_a_polite_apology(
    deployment: Deployment, drawing: Drawing
) -> None:
    di = await deployment.user("Di")
    deployment.llm.media.fail(500, times=3)
    drawing.draws("a lighthouse at night", "Sorry, not now.", contains="lighthouse")

    reply = await deployment.ask(di, "draw a lighthouse")

    assert reply.photo_blob_key is None and reply.usage is not None
    assert said("failed", "en") in tool_result(deployment.llm.requests[-1])["error"]
    assert [r.status for r in images(deployment)] == [500, 500, 500]
    assert reply.usage.total_tokens == chat_tokens(deployment)  # nothing drawn, nothing counted


async def test_one_picture_per_answer(deployment: Deployment, drawing: Drawing) -> None:
    ed = await deployment.user("Ed")
    calls = [ToolCallStep(drawing.tool, {"prompt": p}) for p in ("a cat", "a dog")]
    deployment.llm.script(Step(tool_calls=calls, contains="two pictures"))
    deployment.llm.reply("Here is one.")

    reply = await deployment.ask(ed, "draw two pictures: a cat and a dog")

    results = [json.loads(m["content"]) for m in deployment.llm.requests[-1].messages
               if m["role"] == "tool"]  # fmt: skip
    assert reply.photo_blob_key is not None and len(images(deployment)) == 1
    assert sorted("drawn" in r for r in results) == [False, True]
    assert any(ONE_PER_ANSWER in r.get("error", "") for r in results)


def test_the_answer_model_carries_the_photo_optionally() -> None:
    """An answer written before pictures (no field) still reads; one with a picture keeps it."""
    old = OutgoingMessage.model_validate_json(
        '{"message_id": "00000000-0000-0000-0000-000000000001", "chat_id": 1, "text": "hi"}'
    )
    assert old.photo_blob_key is None
    new = old.model_copy(update={"photo_blob_key": "blob:x"})
    assert OutgoingMessage.model_validate_json(new.model_dump_json()).photo_blob_key == "blob:x"
