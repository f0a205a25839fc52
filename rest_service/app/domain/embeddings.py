"""Recall by meaning: messages' vectors stored per conversation, ranked by cosine similarity
to a turn's question, and merged with the full-text hits; profile facts' vectors stored per
user and ranked the same way, so the facts bearing on the question come first.

Where the server has pgvector, it ranks in SQL; elsewhere the conversation's latest
RECALL_SCAN_DEPTH vectors are ranked here by `cosine`. Both rank the same candidates with the
same tie-break (newest first) and keep those at least RECALL_MIN_SIMILARITY, so they answer
alike."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from rest_service.app.domain.chat_messages import conversation_of
from rest_service.app.domain.common import get_or_404
from rest_service.app.domain.sql import MESSAGE_COLUMNS, message, prefixed, rows
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.embedding import EmbeddingBatch, FactEmbeddingBatch
from rest_service.app.models.user import User

#: Reciprocal rank fusion's constant: a hit's weight in a list is 1 / (FUSION_K + place).
FUSION_K = 60

_STORE_SQL = (
    "INSERT INTO message_embeddings (message_id, conversation_key, model, dims, vector) "
    "SELECT id, conversation_key, $3, $4, $5 FROM chat_messages "
    "WHERE thread_id = $1 AND dedup_key = $2 "
    "ON CONFLICT ON CONSTRAINT uq_message_embeddings_message_model "
    "DO UPDATE SET vector = EXCLUDED.vector, dims = EXCLUDED.dims"
)
#: The candidates both ways rank: the conversation's newest vectors of this model and size.
_CANDIDATES = (
    "SELECT message_id, vector FROM message_embeddings "
    "WHERE conversation_key = $1 AND model = $2 AND dims = $3 AND message_id < $4 "
    "ORDER BY message_id DESC LIMIT $5"
)
_PGVECTOR_SQL = (
    f"SELECT {prefixed('m', MESSAGE_COLUMNS)}, "
    "(1 - (e.vector::vector <=> $6::vector))::float8 AS rank "
    f"FROM ({_CANDIDATES}) e JOIN chat_messages m ON m.id = e.message_id "
    "WHERE 1 - (e.vector::vector <=> $6::vector) >= $7 "
    "ORDER BY rank DESC, m.id DESC LIMIT $8"
)
_MESSAGES_SQL = f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = ANY($1)"
_HAS_PGVECTOR_SQL = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')"
_NO_OLDER_BOUND = 2**63 - 1


async def store(ctx: UnitOfWork, thread_id: str, batch: EmbeddingBatch) -> None:
    """Each item's vector for the thread's message stored with its key; a key not (or no
    longer) stored is skipped, a second vector of the same model replaces the first."""
    await conversation_of(ctx, thread_id)
    conn = await ctx.session.connection()
    for item in batch.items:
        params = (thread_id, item.dedup_key, batch.model, len(item.vector), item.vector)
        await conn.exec_driver_sql(_STORE_SQL, params)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity as pgvector computes it (one square root of the norms' product);
    0 for a zero vector (it points nowhere)."""
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(math.fsum(x * x for x in a) * math.fsum(y * y for y in b))
    return dot / norms if norms else 0.0


@dataclass(frozen=True)
class Bounds:
    """How far recall looks (`RECALL_SCAN_DEPTH`) and how near a hit must be
    (`RECALL_MIN_SIMILARITY`)."""

    scan_depth: int
    min_similarity: float


Ident = TypeVar("Ident", int, uuid.UUID)


def rank(
    query: Sequence[float],
    candidates: Sequence[tuple[Ident, Sequence[float]]],
    limit: int,
    min_similarity: float,
) -> list[tuple[Ident, float]]:
    """The `limit` candidates most similar to `query` (at least `min_similarity`), best
    first, the greater id (a message's: the newer) first on a tie: (id, similarity)."""
    scored = [(ident, cosine(query, vector)) for ident, vector in candidates]
    kept = [(ident, score) for ident, score in scored if score >= min_similarity]
    kept.sort(key=lambda hit: hit[0], reverse=True)
    kept.sort(key=lambda hit: hit[1], reverse=True)
    return kept[:limit]


#: Whether each database (by its URL) has pgvector: asked once per process.
_PGVECTOR: dict[str, bool] = {}


async def has_pgvector(conn: AsyncConnection) -> bool:
    url = str(conn.engine.url)
    if url not in _PGVECTOR:
        found = await rows(conn, _HAS_PGVECTOR_SQL, ())
        _PGVECTOR[url] = bool(found[0]["exists"])
    return _PGVECTOR[url]


async def recall(
    conn: AsyncConnection,
    conversation_key: str,
    model: str,
    vector: list[float],
    limit: int,
    before_id: int | None,
    bounds: Bounds,
    *,
    pgvector: bool,
) -> list[dict[str, Any]]:
    """The conversation's messages nearest in meaning to `vector` (older than `before_id`),
    best first, as `SearchHit` rows whose rank is the similarity."""
    older = _NO_OLDER_BOUND if before_id is None else before_id
    head = (conversation_key, model, len(vector), older, bounds.scan_depth)
    if pgvector:
        text = "[" + ",".join(repr(float(v)) for v in vector) + "]"
        found = await rows(conn, _PGVECTOR_SQL, (*head, text, bounds.min_similarity, limit))
        return [message(row) for row in found]
    candidates = [(r["message_id"], r["vector"]) for r in await rows(conn, _CANDIDATES, head)]
    best = rank(vector, candidates, limit, bounds.min_similarity)
    if not best:
        return []
    by_id = {r["id"]: r for r in await rows(conn, _MESSAGES_SQL, ([i for i, _ in best],))}
    return [message({**by_id[i], "rank": score}) for i, score in best if i in by_id]


def fuse(lists: Sequence[Sequence[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """Hits of several rankings as one (reciprocal rank fusion): each message once, scored by
    its places in every list, best first, the newer first on a tie; `rank` is that score."""
    scores: dict[int, float] = {}
    rows_by_id: dict[int, dict[str, Any]] = {}
    for hits in lists:
        for place, hit in enumerate(hits):
            scores[hit["id"]] = scores.get(hit["id"], 0.0) + 1 / (FUSION_K + place + 1)
            rows_by_id.setdefault(hit["id"], hit)
    order = sorted(scores, key=lambda ident: (-scores[ident], -ident))[:limit]
    return [{**rows_by_id[ident], "rank": scores[ident]} for ident in order]


_STORE_FACT_SQL = (
    "INSERT INTO fact_embeddings (fact_id, user_id, model, dims, vector) "
    "SELECT id, user_id, $3, $4, $5 FROM profile_facts WHERE user_id = $1 AND id = $2 "
    "ON CONFLICT ON CONSTRAINT uq_fact_embeddings_fact_model "
    "DO UPDATE SET vector = EXCLUDED.vector, dims = EXCLUDED.dims"
)
_FACT_CANDIDATES = (
    "SELECT fact_id, vector FROM fact_embeddings WHERE user_id = $1 AND model = $2 AND dims = $3"
)
_FACTS_PGVECTOR_SQL = (
    "SELECT fact_id, (1 - (vector::vector <=> $4::vector))::float8 AS rank "
    f"FROM ({_FACT_CANDIDATES}) e WHERE 1 - (vector::vector <=> $4::vector) >= $5 "
    "ORDER BY rank DESC, fact_id DESC LIMIT $6"
)
_UNEMBEDDED_FACTS_SQL = (
    "SELECT f.id FROM profile_facts f WHERE f.user_id = $1 AND NOT EXISTS "
    "(SELECT 1 FROM fact_embeddings e WHERE e.fact_id = f.id AND e.model = $2) "
    "ORDER BY f.created_at, f.id"
)


async def store_facts(ctx: UnitOfWork, user_id: uuid.UUID, batch: FactEmbeddingBatch) -> None:
    """Each item's vector for the user's fact; a fact not (or no longer) the user's is
    skipped, a second vector of the same model replaces the first."""
    await get_or_404(ctx.session, User, user_id, "user")
    conn = await ctx.session.connection()
    for item in batch.items:
        params = (user_id, item.fact_id, batch.model, len(item.vector), item.vector)
        await conn.exec_driver_sql(_STORE_FACT_SQL, params)


async def recall_facts(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    model: str,
    vector: list[float],
    limit: int,
    min_similarity: float,
    *,
    pgvector: bool,
) -> list[uuid.UUID]:
    """The user's facts nearest in meaning to `vector` (at least `min_similarity`), best
    first; the same ranking in SQL (pgvector) and here."""
    head = (user_id, model, len(vector))
    if pgvector:
        text = "[" + ",".join(repr(float(v)) for v in vector) + "]"
        found = await rows(conn, _FACTS_PGVECTOR_SQL, (*head, text, min_similarity, limit))
        return [row["fact_id"] for row in found]
    candidates = [(r["fact_id"], r["vector"]) for r in await rows(conn, _FACT_CANDIDATES, head)]
    return [ident for ident, _ in rank(vector, candidates, limit, min_similarity)]


async def unembedded_facts(
    conn: AsyncConnection, user_id: uuid.UUID, model: str
) -> list[uuid.UUID]:
    """The user's facts without a vector of `model` yet, oldest first."""
    return [row["id"] for row in await rows(conn, _UNEMBEDDED_FACTS_SQL, (user_id, model))]
