"""Recall by meaning ranks alike with pgvector and without: on the embedded Postgres (the
`pgserver` package ships pgvector), migrated as production is, the SQL path and the path that
ranks in rest_service answer the same hits for the same vectors, for messages and for
profile facts."""

from __future__ import annotations

import math
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ops import infra
from rest_service.app.domain import embeddings
from tests.private_servers import PrivatePostgres
from tests.tiers import examples

KEY = "person-1"
MODEL = "embedder"
DIMS = 4
#: Small whole numbers: float4 holds them exactly, so both paths add up the same products.
_VECTORS = st.lists(st.integers(-3, 3), min_size=DIMS, max_size=DIMS).filter(any)
_STORED = st.lists(_VECTORS, min_size=1, max_size=10)
_LIMITS = st.integers(1, 5)
_LEASTS = st.sampled_from([-1.0, 0.0, 0.3, 0.8])


@pytest.fixture(scope="module")
def pgvector_url() -> Iterator[str]:
    """A migrated embedded Postgres; its folder outside pytest's (see `embedded_data_dir`)."""
    root = Path(tempfile.mkdtemp(prefix="sa-pgvector-"))
    root.chmod(0o755)
    server = PrivatePostgres(root / "pg")
    try:
        server.start()
        infra.migrate(server.url)
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def engine(pgvector_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(pgvector_url)
    yield engine
    await engine.dispose()


async def _store(engine: AsyncEngine, vectors: list[list[int]]) -> list[int]:
    """Messages of one conversation with their vectors; their ids, oldest first."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM chat_messages")
        ids = []
        for n, vector in enumerate(vectors):
            result = await conn.exec_driver_sql(
                "INSERT INTO chat_messages (thread_id, conversation_key, role, content) "
                "VALUES ('t', $1, 'user', $2) RETURNING id",
                (KEY, f"message {n}"),
            )
            ident = result.scalar_one()
            ids.append(ident)
            await conn.exec_driver_sql(
                "INSERT INTO message_embeddings (message_id, conversation_key, model, dims, "
                "vector) VALUES ($1, $2, $3, $4, $5)",
                (ident, KEY, MODEL, DIMS, [float(v) for v in vector]),
            )
    return ids


async def test_the_migration_made_the_vector_extension(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await embeddings.has_pgvector(conn) is True


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=_VECTORS,
    stored=_STORED,
    limit=_LIMITS,
    depth=st.integers(1, 12),
    least=_LEASTS,
)
async def test_pgvector_and_the_application_rank_the_same_hits(
    engine: AsyncEngine,
    query: list[int],
    stored: list[list[int]],
    limit: int,
    depth: int,
    least: float,
) -> None:
    """Within the same bounds: the newest `depth` vectors, none less similar than `least`."""
    ids = await _store(engine, stored)
    vector = [float(v) for v in query]
    async with engine.connect() as conn:
        found = {
            way: await embeddings.recall(
                conn,
                KEY,
                MODEL,
                vector,
                limit,
                ids[-1] + 1,
                embeddings.Bounds(depth, least),
                pgvector=way,
            )
            for way in (True, False)
        }
    in_sql, in_app = found[True], found[False]
    assert len(in_sql) == len(in_app)
    for a, b in zip(in_sql, in_app, strict=True):
        # the same message at each place; another only in a tie (the same similarity)
        assert math.isclose(a["rank"], b["rank"], abs_tol=1e-6)
        assert a["content"] == f"message {ids.index(a['id'])}"
    if len({round(h["rank"], 6) for h in in_app}) == len(in_app):  # no ties
        assert [h["id"] for h in in_sql] == [h["id"] for h in in_app]


async def _store_facts(engine: AsyncEngine, vectors: list[list[int]]) -> uuid.UUID:
    """One user's facts with their vectors; the user's id."""
    user_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO users (id, telegram_id, blocked, created_at, updated_at) "
            "VALUES ($1, $2, false, now(), now())",
            (user_id, user_id.int % 10**12),
        )
        for n, vector in enumerate(vectors):
            fact_id = uuid.uuid4()
            await conn.exec_driver_sql(
                "INSERT INTO profile_facts (id, user_id, text, text_key, created_at) "
                "VALUES ($1, $2, $3, $3, now())",
                (fact_id, user_id, f"fact {n}"),
            )
            await conn.exec_driver_sql(
                "INSERT INTO fact_embeddings (fact_id, user_id, model, dims, vector) "
                "VALUES ($1, $2, $3, $4, $5)",
                (fact_id, user_id, MODEL, DIMS, [float(v) for v in vector]),
            )
    return user_id


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=_VECTORS, stored=_STORED, limit=_LIMITS, least=_LEASTS)
async def test_pgvector_and_the_application_rank_the_same_facts(
    engine: AsyncEngine, query: list[int], stored: list[list[int]], limit: int, least: float
) -> None:
    user_id = await _store_facts(engine, stored)
    vector = [float(v) for v in query]
    async with engine.connect() as conn:
        found = {
            way: await embeddings.recall_facts(
                conn, user_id, MODEL, vector, limit, least, pgvector=way
            )
            for way in (True, False)
        }
    assert found[True] == found[False]
