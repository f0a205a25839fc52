"""The LLM stand-in's `/v1/embeddings` (`sandbox/llm_embeddings.py`) through the real
`openai` SDK (which asks for base64) and raw HTTP (floats): texts of one meaning near, in
any of the languages, unrelated ones far; bad requests answered 400 as OpenAI does."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.tests.test_attachments_stand_in import client
from sandbox.llm_embeddings import DIMS, embedding
from sandbox.llm_server import LlmStandIn

QUESTION = "what should we cook for dinner tonight?"
NEAR = ["I don't eat meat", "Я вегетарианец", "Ich esse kein Fleisch", "I'm vegan"]
FAR = ["my car needs new tires", "the meeting moved to Thursday", "hello there"]


def similarity(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_the_sdk_gets_vectors_that_put_one_meaning_near_in_any_language(
    llm: LlmStandIn,
) -> None:
    async with client(llm) as sdk:
        result = await sdk.embeddings.create(
            model="text-embedding-3-small", input=[QUESTION, *NEAR, *FAR]
        )
    vectors = [item.embedding for item in sorted(result.data, key=lambda i: i.index)]
    question, near, far = vectors[0], vectors[1 : 1 + len(NEAR)], vectors[1 + len(NEAR) :]
    assert all(len(v) == DIMS for v in vectors)
    assert all(
        math.isclose(v, e, abs_tol=1e-6) for v, e in zip(question, embedding(QUESTION), strict=True)
    )
    assert min(similarity(question, v) for v in near) > 0.4
    assert max(similarity(question, v) for v in far) < 0.1
    assert llm.embeddings.requests[-1]["input"][0] == QUESTION
    assert result.usage.total_tokens > 0


async def test_floats_are_sent_when_asked_and_a_single_string_is_one_input(llm: LlmStandIn) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{llm.base_url}/embeddings",
            json={"model": "m", "input": QUESTION, "encoding_format": "float"},
        )
    [item] = response.json()["data"]
    assert item["embedding"] == embedding(QUESTION)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": ["ok", ""]}, "input"),
        ({"model": "m", "input": [1, 2]}, "input"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
async def test_a_bad_request_is_400_naming_the_parameter(
    llm: LlmStandIn, body: dict[str, Any], param: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{llm.base_url}/embeddings", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


async def test_a_body_that_is_not_json_is_400_and_a_scripted_failure_is_its_status(
    llm: LlmStandIn,
) -> None:
    async with httpx.AsyncClient() as http:
        broken = await http.post(f"{llm.base_url}/embeddings", content=b"{")
        llm.embeddings.fail(503)
        failed = await http.post(f"{llm.base_url}/embeddings", json={"model": "m", "input": "x"})
    assert (broken.status_code, failed.status_code) == (400, 503)
    assert llm.embeddings.inputs() == ["x"]


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_every_vector_is_unit_length_and_a_text_is_nearest_itself(text: str) -> None:
    vector = embedding(text)
    assert math.isclose(similarity(vector, vector), 1.0, rel_tol=1e-9)
    assert all(similarity(vector, embedding(other)) <= 1.0 + 1e-9 for other in FAR)
