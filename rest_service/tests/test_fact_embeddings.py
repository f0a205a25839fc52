"""Profile facts by meaning, and facts changed or cleared in place: vectors stored for a
user's facts, the turn context naming the facts nearest the question (`recalled_facts`) and
those without a vector yet (`unembedded_facts`); a fact's new words drop its vector, a
deleted or cleared fact takes its vector along. The vectors are the LLM stand-in's
(`sandbox/llm_embeddings.py`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from rest_service.app.models.embedding import MAX_DIMS
from rest_service.app.state import STATE
from rest_service.tests.conftest import Api, assert_error
from rest_service.tests.test_profile_facts import BODIES, PROPERTY, acceptable, add
from rest_service.tests.test_recall_by_meaning import storable
from sandbox.llm_embeddings import embedding

MODEL = "text-embedding-3-small"
FACTS = ["My car needs new tires", "My daughter is Masha", "I keep kosher"]
QUESTION = "what can I cook for dinner?"


async def put_vectors(api: Api, user_id: str, facts: list[dict[str, Any]]) -> None:
    items = [{"fact_id": f["id"], "vector": embedding(f["text"])} for f in facts]
    path = f"/api/users/{user_id}/facts/embeddings"
    response = await api.http.put(path, json={"model": MODEL, "items": items}, headers=api.service)
    assert response.status_code == 204, response.text


async def context(api: Api, user_id: str, question: str = QUESTION) -> Any:
    assistant = await api.assistant()
    body = {
        "user_id": user_id,
        "assistant_id": assistant["id"],
        "profile_id": user_id,
        "facts": True,
        "memory": {"q": question, "vector": embedding(question), "model": MODEL},
    }
    return await api.ok("POST", "/api/threads/context", api.service, json=body)


async def vectors_of(app: FastAPI, user_id: str) -> int:
    async with STATE.of_app(app).sessions() as session:
        sql = text("SELECT count(*) FROM fact_embeddings WHERE user_id = :user")
        return int((await session.execute(sql, {"user": uuid.UUID(user_id)})).scalar_one())


async def told(api: Api) -> tuple[str, list[dict[str, Any]]]:
    user = await api.user()
    return user["id"], [await add(api, user["id"], fact) for fact in FACTS]


class TestFactsByMeaning:
    async def test_a_fact_sharing_no_word_with_the_question_comes_first(self, api: Api) -> None:
        user_id, facts = await told(api)
        before = await context(api, user_id)
        assert before["recalled_facts"] == []
        assert before["unembedded_facts"] == [f["id"] for f in facts]

        await put_vectors(api, user_id, facts)
        after = await context(api, user_id)
        assert after["recalled_facts"][0] == facts[2]["id"]  # "I keep kosher"
        assert facts[1]["id"] not in after["recalled_facts"]
        assert after["unembedded_facts"] == []

    async def test_without_a_vector_or_facts_nothing_is_ranked(self, api: Api) -> None:
        user_id, facts = await told(api)
        await put_vectors(api, user_id, facts)
        assistant = await api.assistant()
        body = {"user_id": user_id, "assistant_id": assistant["id"], "profile_id": user_id}
        plain = await api.ok("POST", "/api/threads/context", api.service, json=body)
        assert plain["recalled_facts"] == [] and plain["unembedded_facts"] == []

    async def test_only_the_user_s_own_facts_are_stored_and_ranked(self, api: Api, app) -> None:
        user_id, _ = await told(api)
        other_id, theirs = await told(api)
        await put_vectors(api, user_id, theirs)  # someone else's: skipped
        assert await vectors_of(app, user_id) == 0 and await vectors_of(app, other_id) == 0
        await put_vectors(api, other_id, theirs)
        assert (await context(api, user_id))["recalled_facts"] == []
        await put_vectors(api, other_id, theirs)  # a repeat replaces
        assert await vectors_of(app, other_id) == len(FACTS)

    async def test_an_unknown_user_is_404(self, api: Api, client) -> None:
        path = f"/api/users/{uuid.uuid4()}/facts"
        body = {"model": MODEL, "items": [{"fact_id": str(uuid.uuid4()), "vector": [1.0]}]}
        assert_error(await client.put(f"{path}/embeddings", json=body, headers=api.service), 404)
        assert_error(await client.delete(path, headers=api.service), 404)
        fact = {"text": "I am here"}
        assert_error(
            await client.put(f"{path}/{uuid.uuid4()}", json=fact, headers=api.service), 404
        )

    async def test_a_deleted_fact_takes_its_vector(self, api: Api, app) -> None:
        user_id, facts = await told(api)
        await put_vectors(api, user_id, facts)
        path = f"/api/users/{user_id}/facts/{facts[2]['id']}"
        assert (await api.http.delete(path, headers=api.service)).status_code == 204
        assert await vectors_of(app, user_id) == len(FACTS) - 1
        assert facts[2]["id"] not in (await context(api, user_id))["recalled_facts"]


class TestChangeAndClear:
    async def test_new_words_keep_the_place_and_drop_the_vector(self, api: Api, app) -> None:
        user_id, facts = await told(api)
        await put_vectors(api, user_id, facts)
        path = f"/api/users/{user_id}/facts/{facts[1]['id']}"
        changed = await api.ok("PUT", path, api.service, json={"text": " My daughter is  Mia "})
        assert changed["text"] == "My daughter is Mia" and changed["id"] == facts[1]["id"]
        listed = await api.ok("GET", f"/api/users/{user_id}/facts", api.service)
        assert [f["text"] for f in listed] == [FACTS[0], "My daughter is Mia", FACTS[2]]
        assert (await context(api, user_id))["unembedded_facts"] == [facts[1]["id"]]
        # The same words (only spelled otherwise) keep the vector.
        await put_vectors(api, user_id, [changed])
        await api.ok("PUT", path, api.service, json={"text": "My daughter is Mia"})
        assert await vectors_of(app, user_id) == len(FACTS)

    async def test_another_facts_words_are_409_and_an_unknown_fact_404(
        self, api: Api, client
    ) -> None:
        user_id, facts = await told(api)
        path = f"/api/users/{user_id}/facts"
        same = {"text": "i keep KOSHER"}
        response = await client.put(f"{path}/{facts[0]['id']}", json=same, headers=api.service)
        assert_error(response, 409)
        response = await client.put(f"{path}/{uuid.uuid4()}", json=same, headers=api.service)
        assert_error(response, 404)

    async def test_clear_deletes_every_fact_and_vector_of_that_user_only(
        self, api: Api, app
    ) -> None:
        user_id, facts = await told(api)
        other_id, theirs = await told(api)
        await put_vectors(api, user_id, facts)
        await put_vectors(api, other_id, theirs)
        path = f"/api/users/{user_id}/facts"
        assert (await api.http.delete(path, headers=api.service)).status_code == 204
        assert await api.ok("GET", path, api.service) == []
        assert await vectors_of(app, user_id) == 0
        assert await vectors_of(app, other_id) == len(FACTS)
        assert (await api.http.delete(path, headers=api.service)).status_code == 204

    @PROPERTY
    @given(body=BODIES)
    async def test_any_body_changes_the_fact_or_is_422(self, api: Api, client, body: Any) -> None:
        user = await api.user()
        fact = await add(api, user["id"], "I live in Berlin")
        path = f"/api/users/{user['id']}/facts/{fact['id']}"
        response = await client.put(path, json=body, headers=api.service)
        if acceptable(body):
            assert response.status_code == 200, response.text
            assert response.json()["text"] == " ".join(body["text"].split())
        else:
            assert_error(response, 422)


@PROPERTY
@given(
    vector=st.one_of(
        st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=8),
        st.lists(st.just(0.5), min_size=MAX_DIMS + 1, max_size=MAX_DIMS + 1),
    ),
    model=st.one_of(st.none(), st.text(max_size=300)),
    fact_id=st.one_of(st.uuids().map(str), st.text(max_size=40)),
)
async def test_any_fact_vector_body_is_204_or_422(
    api: Api, client, vector: list[float], model: str | None, fact_id: str
) -> None:
    user = await api.user()
    body = {"model": model, "items": [{"fact_id": fact_id, "vector": vector}]}
    response = await client.put(  # NaN and Infinity as Python's JSON writes them
        f"/api/users/{user['id']}/facts/embeddings",
        content=json.dumps(body),
        headers={**api.service, "Content-Type": "application/json"},
    )
    good = storable(vector, model) and _is_uuid(fact_id)
    assert response.status_code == (204 if good else 422)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
