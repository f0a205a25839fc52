"""`POST /v1/embeddings` for the LLM stand-in: deterministic vectors that put texts of similar
meaning close. A small hand-made vocabulary of concepts, each an axis shared by its words in
English, Russian, Ukrainian and German ("vegetarian", "don't eat meat", "вегетарианец" and
"dinner" all lean on `food`), plus every word hashed onto its own buckets, so texts that share
neither a concept nor a word are near 0 and a text is near itself.

The request is checked as OpenAI checks it (`model`, `input` a string or a list of them,
`encoding_format` `float` or `base64`: the official Python client asks for base64)."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.llm_media import ScriptedEndpoints, error_response

#: Concept axes and the word beginnings that mean them.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "food": (
        "meat", "vegetar", "vegan", "cook", "dinner", "lunch", "breakfast", "eat", "recipe",
        "meal", "food", "мяс", "вегетариан", "веган", "ужин", "обед", "завтрак", "готов",
        "рецепт", "еда", "ем", "ест", "м'яс", "вечер", "fleisch", "vegetarier", "kochen",
        "abendessen", "essen", "kosher", "halal", "кошер", "koscher",
    ),
    "diet": (
        "meat", "vegetar", "vegan", "kosher", "halal", "мяс", "вегетариан", "веган", "кошер",
        "fleisch", "vegetarier", "koscher",
    ),
    "family": ("wife", "husband", "son", "daughter", "жен", "муж", "сын", "доч", "frau", "sohn"),
    "travel": ("flight", "trip", "travel", "airport", "поездк", "рейс", "аэропорт", "reise"),
    "car": ("car", "tire", "tyre", "engine", "машин", "шин", "двигател", "auto", "reifen"),
    "health": ("doctor", "allerg", "medicine", "врач", "аллерг", "лекарств", "arzt"),
}  # fmt: skip
_AXES = list(CONCEPTS)
#: Word buckets after the concept axes: a word shared counts, a concept counts more.
BUCKETS = 256
CONCEPT_WEIGHT = 3.0
DIMS = len(_AXES) + BUCKETS
_WORD = re.compile(r"[\w']+")


def embedding(text: str) -> list[float]:
    """The text's unit vector (a text without words: the first bucket)."""
    vector = [0.0] * DIMS
    for word in _WORD.findall(text.lower()):
        for axis, starts in enumerate(CONCEPTS.values()):
            if word.startswith(starts):
                vector[axis] = CONCEPT_WEIGHT
        bucket = int.from_bytes(hashlib.blake2s(word.encode()).digest()[:4], "big") % BUCKETS
        vector[len(_AXES) + bucket] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if not norm:
        vector[len(_AXES)] = 1.0
        return vector
    return [v / norm for v in vector]


@dataclass
class EmbeddingEndpoints(ScriptedEndpoints):
    """Recorded embedding requests (`{"model", "input"}`, the inputs as a list) and scripted
    failures."""

    def inputs(self) -> list[str]:
        """Every text embedded so far, in order."""
        with self._lock:
            return [text for request in self.requests for text in request["input"]]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/embeddings", self._embeddings)

    async def _embeddings(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "We could not parse the JSON body of your request.")
        problem = _problem(body)
        if problem is not None:
            return error_response(400, *problem)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        status = self._scripted_failure()
        if self.record:
            with self._lock:
                self.requests.append({"model": body["model"], "input": texts})
        if status is not None:
            return error_response(status, "scripted failure")
        encoding = body.get("encoding_format", "float")
        data = [
            {"object": "embedding", "index": i, "embedding": _encoded(embedding(t), encoding)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(len(_WORD.findall(t)) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return web.json_response(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )


def _problem(body: Any) -> tuple[str, str] | None:
    """What OpenAI would answer 400 about, with the parameter; None for a good request."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter", "model"
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return "'input' must be a non-empty string or array of strings", "input"
    if any(not t for t in texts):
        return "'input' cannot contain an empty string", "input"
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "'encoding_format' must be 'float' or 'base64'", "encoding_format"
    return None


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
