"""Recall by meaning in rest_service: vectors stored for a thread's messages by their keys,
the turn context's memory fusing the messages nearest the question's vector with the
full-text hits, the ranking itself, and /forget taking the vectors with the messages. The
vectors are the LLM stand-in's (`sandbox/llm_embeddings.py`): texts of one meaning lean on
one axis."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from rest_service.app.domain.embeddings import cosine, fuse, rank
from rest_service.app.models.embedding import FLOAT4_MAX, FLOAT4_TINY, MAX_DIMS
from rest_service.app.state import STATE
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_profile_facts import PROPERTY
from sandbox.llm_embeddings import embedding

MODEL = "text-embedding-3-small"
#: A week of one person's chat: one line says what they eat, none shares a word with the
#: question.
CHAT = [
    "I don't eat meat, haven't for years",
    "my car needs new tires before winter",
    "the meeting moved to Thursday",
    "thanks, that's all for now",
]
QUESTION = "what should we cook for dinner tonight?"


async def said(api: Api, thread_id: str, lines: list[str]) -> list[dict[str, Any]]:
    """Each line stored with a key, and its vector stored under that key."""
    stored = []
    for line in lines:
        stored.append(await api.say(thread_id, line, dedup_key=unique("k")))
    items = [{"dedup_key": m["dedup_key"], "vector": embedding(m["content"])} for m in stored]
    await put_vectors(api, thread_id, items)
    return stored


async def put_vectors(api: Api, thread_id: str, items: list[dict[str, Any]]) -> None:
    path = f"/api/threads/{thread_id}/embeddings"
    body = {"model": MODEL, "items": items}
    response = await api.http.put(path, json=body, headers=api.service)
    assert response.status_code == 204, response.text


async def context(api: Api, conversation: str, assistant_id: str, **memory: Any) -> Any:
    body = {"user_id": conversation, "assistant_id": assistant_id, "limit": 2}
    body["memory"] = {"q": QUESTION, **memory}
    return await api.ok("POST", "/api/threads/context", api.service, json=body)


async def vectors_of(app: FastAPI, conversation: str) -> int:
    async with STATE.of_app(app).sessions() as session:
        sql = text("SELECT count(*) FROM message_embeddings WHERE conversation_key = :key")
        return int((await session.execute(sql, {"key": conversation})).scalar_one())


def storable(vector: list[float], model: str | None) -> bool:
    """A vector float4 holds, not all zero, of a model with a name: what rest_service keeps."""
    good_vector = (
        0 < len(vector) <= MAX_DIMS
        and all(abs(v) <= FLOAT4_MAX for v in vector)
        and any(abs(v) >= FLOAT4_TINY for v in vector)
    )
    return good_vector and model is not None and 0 < len(model.strip()) <= 255 and "\0" not in model


class TestRecallByMeaning:
    async def test_a_message_sharing_no_word_with_the_question_is_recalled_by_meaning(
        self, api: Api
    ) -> None:
        user = await api.user()
        assistant = await api.assistant()
        thread = await api.thread(user["id"], assistant["id"])
        meat, *_ = await said(api, thread["thread_id"], CHAT)
        for i in range(2):
            await api.say(thread["thread_id"], f"chatter {i}", role="assistant")

        by_words = await context(api, user["id"], assistant["id"])
        by_meaning = await context(
            api, user["id"], assistant["id"], vector=embedding(QUESTION), model=MODEL
        )

        assert by_words["memory"] == []
        assert [hit["id"] for hit in by_meaning["memory"]] == [meat["id"]]
        assert by_meaning["memory"][0]["content"] == CHAT[0]

    async def test_meaning_and_words_are_fused_each_message_once(self, api: Api) -> None:
        assistant = await api.assistant()
        conversation = unique("chat")
        thread = await api.thread(conversation, assistant["id"])
        meat, _, _, _, dinner = await said(
            api, thread["thread_id"], [*CHAT, "dinner at Anna's on Friday"]
        )
        for i in range(2):
            await api.say(thread["thread_id"], f"chatter {i}", role="assistant")
        found = await context(
            api, conversation, assistant["id"], vector=embedding(QUESTION), model=MODEL
        )
        # "dinner" is both a word of the question and near it: first, and listed once
        assert [hit["id"] for hit in found["memory"]] == [dinner["id"], meat["id"]]

    async def test_only_the_conversation_s_own_vectors_of_that_model_are_ranked(
        self, api: Api
    ) -> None:
        assistant = await api.assistant()
        mine, theirs = unique("chat"), unique("chat")
        for conversation in (mine, theirs):
            thread = await api.thread(conversation, assistant["id"])
            await said(api, thread["thread_id"], CHAT[:1])
            for i in range(2):
                await api.say(thread["thread_id"], f"chatter {i}", role="assistant")
        vector = embedding(QUESTION)
        other_model = await context(api, mine, assistant["id"], vector=vector, model="other")
        own = await context(api, mine, assistant["id"], vector=vector, model=MODEL)
        assert other_model["memory"] == []
        assert [hit["conversation_key"] for hit in own["memory"]] == [mine]

    async def test_a_key_not_stored_is_skipped_and_a_repeat_replaces(
        self, api: Api, app: FastAPI
    ) -> None:
        conversation = unique("chat")
        thread = await api.thread(conversation)
        [stored] = await said(api, thread["thread_id"], CHAT[:1])
        items = [
            {"dedup_key": stored["dedup_key"], "vector": [1.0, 0.0]},
            {"dedup_key": "never-stored", "vector": [0.0, 1.0]},
        ]
        await put_vectors(api, thread["thread_id"], items)
        assert await vectors_of(app, conversation) == 1

    async def test_an_unknown_thread_is_404(self, api: Api, client) -> None:
        body = {"model": MODEL, "items": [{"dedup_key": "k", "vector": [1.0]}]}
        response = await client.put(
            "/api/threads/thread_missing/embeddings", json=body, headers=api.service
        )
        assert_error(response, 404)

    async def test_forget_deletes_the_vectors_with_the_messages(
        self, api: Api, app: FastAPI
    ) -> None:
        user = await api.user()
        thread = await api.thread(user["id"])
        await said(api, thread["thread_id"], CHAT)
        assert await vectors_of(app, user["id"]) == len(CHAT)
        forgot = await api.http.delete(f"/api/users/{user['id']}", headers=api.service)
        assert forgot.status_code == 204
        assert await vectors_of(app, user["id"]) == 0


MIN_SIMILARITY = 0.3
_FINITE = st.floats(-1e6, 1e6, allow_nan=False, width=32)
_VECTORS = st.lists(_FINITE, min_size=1, max_size=8)


class TestBodies:
    @PROPERTY
    @given(
        vector=st.one_of(
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=6),
            st.just([0.5] * (MAX_DIMS + 1)),
        ),
        model=st.one_of(st.none(), st.text(max_size=300)),
    )
    async def test_a_vector_or_model_out_of_bounds_is_422_and_a_good_body_204(
        self, api: Api, client, vector: list[float], model: str | None
    ) -> None:
        thread = await api.thread(unique("chat"))
        body = {"model": model, "items": [{"dedup_key": "k", "vector": vector}]}
        response = await client.put(  # NaN and Infinity as Python's JSON writes them
            f"/api/threads/{thread['thread_id']}/embeddings",
            content=json.dumps(body),
            headers={**api.service, "Content-Type": "application/json"},
        )
        assert response.status_code == (204 if storable(vector, model) else 422)

    async def test_a_memory_vector_without_its_model_is_422(self, api: Api, client) -> None:
        assistant = await api.assistant()
        body = {
            "user_id": unique("chat"),
            "assistant_id": assistant["id"],
            "memory": {"q": QUESTION, "vector": [1.0]},
        }
        response = await client.post("/api/threads/context", json=body, headers=api.service)
        assert_error(response, 422)


class TestRanking:
    @PROPERTY
    @given(
        query=_VECTORS,
        candidates=st.lists(_VECTORS, max_size=12),
        limit=st.integers(1, 5),
    )
    def test_the_best_are_kept_in_order_each_similar_enough(
        self, query: list[float], candidates: list[list[float]], limit: int
    ) -> None:
        sized = [(i, (v * len(query))[: len(query)]) for i, v in enumerate(candidates, 1)]
        best = rank(query, sized, limit, MIN_SIMILARITY)
        scores = {i: cosine(query, v) for i, v in sized}
        eligible = [i for i, s in scores.items() if s >= MIN_SIMILARITY]
        assert len(best) == min(limit, len(eligible))
        assert all(score == scores[i] and score >= MIN_SIMILARITY for i, score in best)
        assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
        left_out = set(eligible) - {i for i, _ in best}
        assert all(scores[i] <= best[-1][1] for i in left_out)

    @PROPERTY
    @given(a=_VECTORS, scale=st.floats(0.001, 1000))
    def test_cosine_ignores_length_and_lies_within_one(self, a: list[float], scale: float) -> None:
        similarity = cosine(a, [v * scale for v in a])
        assert similarity == 0.0 if not any(a) else math.isclose(similarity, 1.0, rel_tol=1e-6)
        assert -1 - 1e-9 <= cosine(a, list(reversed(a))) <= 1 + 1e-9

    @PROPERTY
    @given(
        lists=st.lists(st.lists(st.integers(1, 20), unique=True, max_size=8), max_size=3),
        limit=st.integers(1, 10),
    )
    def test_fusion_lists_each_message_once_and_favours_what_both_found(
        self, lists: list[list[int]], limit: int
    ) -> None:
        fused = fuse([[{"id": i} for i in ids] for ids in lists], limit)
        ids = [hit["id"] for hit in fused]
        everything = {i for ids_ in lists for i in ids_}
        assert len(ids) == len(set(ids)) == min(limit, len(everything))
        assert [h["rank"] for h in fused] == sorted((h["rank"] for h in fused), reverse=True)
        if len(lists) == 2 and lists[0] and lists[0] == lists[1]:
            assert ids[0] == lists[0][0]
