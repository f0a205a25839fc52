"""Recall by meaning: the question's embedding goes with a turn's memory query, and a turn's
stored messages get theirs afterwards, off the answer's path; so do the speaker's profile
facts that have none yet (`TurnBackground.unembedded_facts`: new, or changed in /memory).
Without an active model with capability `embedding` none of it happens and memory is
full-text search alone. A failure is
logged and counted; it never fails a turn."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from prometheus_client import Counter

from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.assistants.model_order import route_for
from assistant.src.clients.embeddings import embed
from assistant.src.clients.llm import ModelRoute
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import (
    ConfigSnapshot,
    MessageIn,
    MessageRole,
    ModelCapability,
    TurnBackground,
)

log = get_logger(__name__)

#: `stage`: query (a turn's question), store (a turn's messages afterwards) or facts.
EMBEDDING_FAILURES = Counter(
    "smart_assistant_embedding_failures_total", "Embeddings not made or not stored", ["stage"]
)
K = TypeVar("K")
#: Stores vectors by `model` under their keys (a message's `dedup_key`, a fact's id).
Save = Callable[[str, dict[K, list[float]]], Awaitable[None]]
#: Only what people said is recalled; tool traffic is not.
_RECALLED = {MessageRole.user, MessageRole.assistant}
#: An embedding model reads about 8k tokens; the start of a long message says what it is about.
MAX_EMBEDDED_CHARS = 8000


class Recall:
    def __init__(self, deps: AssistantDeps) -> None:
        self.deps = deps
        #: Running background steps, held so they are not collected half way.
        self.pending: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Lets the embeddings in flight finish (each is bounded by the LLM timeout)."""
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)

    async def question(self, snapshot: ConfigSnapshot, text: str) -> tuple[str, list[float]] | None:
        """(model, vector) of a turn's memory query; None without a model or on a failure."""
        model = snapshot.model_with(ModelCapability.embedding)
        if model is None:
            return None
        try:
            [vector] = await embed(self.deps.llm, self._route(snapshot, model.name), [text])
        except Exception as exc:
            _failed("query", model.name, exc)
            return None
        return model.name, vector

    def remember(self, snapshot: ConfigSnapshot, thread_id: str, records: list[MessageIn]) -> None:
        """Embeds and stores the turn's messages in the background."""
        texts = {
            r.dedup_key: r.content[:MAX_EMBEDDED_CHARS]
            for r in records
            if r.role in _RECALLED and r.content and r.content.strip() and r.dedup_key
        }
        store = self.deps.rest.store_embeddings
        self._start(snapshot, "store", texts, partial(store, thread_id))

    def learn_facts(self, snapshot: ConfigSnapshot, user_id: str, context: TurnBackground) -> None:
        """Embeds and stores, in the background, the speaker's facts that have no vector of
        the embedding model yet."""
        missing = set(context.unembedded_facts)
        texts = {f.id: f.text for f in context.facts if f.id in missing}
        store = self.deps.rest.store_fact_embeddings
        self._start(snapshot, "facts", texts, partial(store, user_id))

    def _start(
        self, snapshot: ConfigSnapshot, stage: str, texts: dict[K, str], save: Save[K]
    ) -> None:
        """`texts` embedded by the embedding model and saved, in the background (nothing
        without a model or a text)."""
        model = snapshot.model_with(ModelCapability.embedding)
        if model is None or not texts:
            return
        task = asyncio.create_task(
            self._store(self._route(snapshot, model.name), stage, texts, save)
        )
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _store(
        self, route: ModelRoute, stage: str, texts: dict[K, str], save: Save[K]
    ) -> None:
        try:
            vectors = await embed(self.deps.llm, route, list(texts.values()))
            await save(route.model, dict(zip(texts, vectors, strict=True)))
        except Exception as exc:
            _failed(stage, route.model, exc)
            return
        log.info("texts_embedded", stage=stage, model=route.model, count=len(texts))

    def _route(self, snapshot: ConfigSnapshot, name: str) -> ModelRoute:
        return route_for(name, snapshot, self.deps.settings)


def _failed(stage: str, model: str, exc: Exception) -> None:
    EMBEDDING_FAILURES.labels(stage).inc()
    log.warning("embedding_failed", stage=stage, model=model, error=str(exc)[:300])
