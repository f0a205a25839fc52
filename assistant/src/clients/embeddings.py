"""Texts as vectors over the provider's OpenAI-compatible `POST /embeddings`, through
`LlmGateway.request`: the same keys, clients, retries and breaker as chat calls."""

from __future__ import annotations

import openai

from assistant.src.clients.llm import LlmGateway, ModelRoute


async def embed(llm: LlmGateway, route: ModelRoute, texts: list[str]) -> list[list[float]]:
    """One vector per text, in the texts' order."""

    async def call(client: openai.AsyncOpenAI) -> list[list[float]]:
        result = await client.embeddings.create(model=route.model, input=texts)
        ordered = sorted(result.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]

    return await llm.request(route, call)
