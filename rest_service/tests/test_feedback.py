"""/api/feedback and /api/analytics/feedback: one 👍 / 👎 per answer and user (pressing again
changes it; a 👎's comment is kept until a 👍), only for a stored answer, whose conversation
and model it takes; the admin lists and filters them, and satisfaction adds up by assistant,
model and day."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.tests.conftest import Api, assert_error, unique
from tests.tiers import examples

PATH = "/api/feedback/"
ANALYTICS = "/api/analytics/feedback"
HASH = "0123456789abcdef"


async def answer(
    api: Api, user: dict[str, Any], assistant: dict[str, Any], model: str | None = "gpt-x"
) -> str:
    """A stored answer of `assistant` to `user`: its history key."""
    thread = await api.thread(user["id"], assistant["id"])
    key = f"{uuid.uuid4()}:answer"
    await api.say(
        thread["thread_id"], "Here you are.", role="assistant", dedup_key=key, model=model
    )
    return key


def body(key: str, user: dict[str, Any], assistant: dict[str, Any], **fields: Any) -> Any:
    return {
        "message_key": key,
        "user_id": user["id"],
        "assistant_id": assistant["id"],
        "rating": 1,
        "prompt_hash": HASH,
        **fields,
    }


async def rate(api: Api, key: str, user: Any, assistant: Any, **fields: Any) -> Any:
    return await api.ok("POST", PATH, api.service, json=body(key, user, assistant, **fields))


class TestAuth:
    async def test_the_service_token_only_records(self, api: Api) -> None:
        assert_error(await api.http.get(PATH), 401)
        assert_error(await api.http.post(PATH, json={}), 401)
        assert_error(await api.http.get(ANALYTICS), 401)
        for path in (PATH, ANALYTICS):
            assert_error(await api.http.get(path, headers=api.service), 403, "forbidden")


class TestRecord:
    async def test_a_second_press_changes_the_rating_and_a_thumbs_up_drops_the_comment(
        self, api: Api
    ) -> None:
        user, assistant = await api.user(), await api.assistant()
        key = await answer(api, user, assistant)
        first = await api.http.post(
            PATH, headers=api.service, json=body(key, user, assistant, rating=-1)
        )
        assert first.status_code == 201, first.text
        made = first.json()
        assert (made["rating"], made["model"], made["conversation_key"]) == (
            -1,
            "gpt-x",
            user["id"],
        )
        assert made["chat_message_id"] is not None and made["prompt_hash"] == HASH
        commented = await rate(api, key, user, assistant, rating=-1, comment="  too long  ")
        assert commented["id"] == made["id"] and commented["comment"] == "too long"
        kept = await api.http.post(
            PATH, headers=api.service, json=body(key, user, assistant, rating=-1)
        )
        assert kept.status_code == 200 and kept.json()["comment"] == "too long"
        up = await rate(api, key, user, assistant, rating=1)
        assert (up["id"], up["rating"], up["comment"]) == (made["id"], 1, None)
        other = await rate(api, key, await api.user(), assistant)
        assert other["id"] != made["id"]
        listed = await api.ok("GET", f"{PATH}?assistant_id={assistant['id']}", api.admin)
        assert {row["id"] for row in listed} == {made["id"], other["id"]}

    async def test_the_stored_answer_s_model_wins_over_the_callers(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        key = await answer(api, user, assistant, model="stored-model")
        assert (await rate(api, key, user, assistant, model="said"))["model"] == "stored-model"
        bare = await answer(api, user, assistant, model=None)
        assert (await rate(api, bare, user, assistant, model="said"))["model"] == "said"

    async def test_bad_input_is_a_422_naming_the_field(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        key = await answer(api, user, assistant)
        thread = await api.thread(user["id"], assistant["id"])
        said = f"{uuid.uuid4()}:user"
        await api.say(thread["thread_id"], "hi", dedup_key=said)
        nobody = "00000000-0000-4000-8000-000000000000"
        base = body(key, user, assistant)
        for bad, field in (
            ({**base, "rating": 0}, "rating"),
            ({**base, "rating": "up"}, "rating"),
            ({**base, "message_key": "nothing:answer"}, "message_key"),
            ({**base, "message_key": said}, "message_key"),
            ({**base, "message_key": ""}, "message_key"),
            ({**base, "user_id": nobody}, "user_id"),
            ({**base, "assistant_id": nobody}, "assistant_id"),
            ({**base, "bot_id": nobody}, "bot_id"),
            ({**base, "comment": "c" * 2001}, "comment"),
            ({**base, "comment": "a\x00b"}, "comment"),
            ({**base, "prompt_hash": "not hex"}, "prompt_hash"),
            ({**base, "model": "m" * 256}, "model"),
        ):
            response = await api.http.post(PATH, headers=api.service, json=bad)
            error = assert_error(response, 422)
            assert field in {f["field"] for f in error["fields"]}, (field, error)

    async def test_the_list_filters_and_pages(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        up = await rate(api, await answer(api, user, assistant, "m-a"), user, assistant)
        down = await rate(api, await answer(api, user, assistant, None), user, assistant, rating=-1)
        scope = f"assistant_id={assistant['id']}"
        for query, wanted in (
            (scope, {up["id"], down["id"]}),
            (f"{scope}&rating=1", {up["id"]}),
            (f"{scope}&rating=-1", {down["id"]}),
            (f"{scope}&model=m-a", {up["id"]}),
            (f"{scope}&model=unknown", {down["id"]}),
            (f"{scope}&created_from=2000-01-01T00:00:00Z", {up["id"], down["id"]}),
            (f"{scope}&created_to=2000-01-01T00:00:00Z", set()),
            (f"{scope}&limit=1", None),
        ):
            response = await api.http.get(f"{PATH}?{query}", headers=api.admin)
            assert response.status_code == 200, response.text
            assert response.headers["X-Total-Count"] == str(2 if wanted is None else len(wanted)), (
                query
            )
            if wanted is not None:
                assert {row["id"] for row in response.json()} == wanted, query
            else:
                assert len(response.json()) == 1
        for query, field in (
            ("rating=2", "rating"),
            ("created_from=2000-01-01T00:00:00", "created_from"),
            ("assistant_id=x", "assistant_id"),
            ("limit=0", "limit"),
        ):
            error = assert_error(await api.http.get(f"{PATH}?{query}", headers=api.admin), 422)
            assert error["fields"][0]["field"] == field


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "rating": st.one_of(st.sampled_from([1, -1, 0, 2]), st.text(max_size=3), st.none()),
            "comment": st.one_of(st.none(), st.text(max_size=40)),
            "model": st.one_of(st.none(), st.text(max_size=20)),
            "prompt_hash": st.one_of(st.none(), st.text(alphabet="0123456789abcdefg", max_size=20)),
            "bot_id": st.one_of(st.none(), st.uuids().map(str), st.text(max_size=5)),
            "message_key": st.text(max_size=10),
        },
    )
)
async def test_any_body_is_stored_or_refused_by_field(api: Api, fields: dict[str, Any]) -> None:
    user, assistant = await api.user(), await api.assistant()
    key = await answer(api, user, assistant)
    response = await api.http.post(
        PATH, headers=api.service, json=body(key, user, assistant, **fields)
    )
    if response.status_code == 422:
        named = {f["field"] for f in assert_error(response, 422)["fields"]}
        assert named and named <= set(fields), (named, fields)
        return
    assert response.status_code in (200, 201), response.text
    stored = response.json()
    assert stored["rating"] in (1, -1) and stored["message_key"] == key


RATINGS = st.lists(
    st.tuples(st.sampled_from(["m-a", "m-b", None]), st.sampled_from([1, -1])),
    min_size=0,
    max_size=6,
)


def sums_to_total(figures: dict[str, Any]) -> None:
    total = figures["total"]
    assert total["up"] + total["down"] == total["rated"]
    for grouping in ("by_assistant", "by_model", "by_day"):
        groups = figures[grouping]
        for name in ("rated", "up", "down"):
            assert sum(g[name] for g in groups) == total[name], (grouping, name)
        for group in groups:
            assert group["satisfaction"] == round(group["up"] / group["rated"], 4)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ratings=RATINGS)
async def test_satisfaction_adds_up_by_assistant_model_and_day(
    api: Api, ratings: list[tuple[str | None, int]]
) -> None:
    assistant = await api.assistant()
    for model, rating in ratings:
        user = await api.user()
        await rate(api, await answer(api, user, assistant, model), user, assistant, rating=rating)
    mine = await api.ok("GET", f"{ANALYTICS}?assistant_id={assistant['id']}", api.admin)
    sums_to_total(mine)
    ups = sum(1 for _, r in ratings if r > 0)
    assert (mine["total"]["rated"], mine["total"]["up"]) == (len(ratings), ups)
    assert mine["total"]["satisfaction"] == (round(ups / len(ratings), 4) if ratings else None)
    assert [g["label"] for g in mine["by_assistant"]] == ([assistant["name"]] if ratings else [])
    models = {m or "unknown" for m, _ in ratings}
    assert {g["key"] for g in mine["by_model"]} == models
    assert len(mine["dislikes"]) == len(ratings) - ups
    sums_to_total(await api.ok("GET", ANALYTICS, api.admin))


class TestAnalytics:
    async def test_each_dislike_names_its_conversation(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant(name=unique("shop"))
        key = await answer(api, user, assistant)
        await rate(api, key, user, assistant, rating=-1, comment="wrong price")
        figures = await api.ok(
            "GET", f"{ANALYTICS}?assistant_id={assistant['id']}&model=gpt-x", api.admin
        )
        [dislike] = figures["dislikes"]
        assert (dislike["conversation_key"], dislike["comment"]) == (user["id"], "wrong price")
        none = await api.ok(
            "GET", f"{ANALYTICS}?assistant_id={assistant['id']}&dislikes=0", api.admin
        )
        assert none["dislikes"] == [] and none["total"]["down"] == 1

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("dislikes=-1", "dislikes"),
            ("dislikes=1001", "dislikes"),
            ("created_to=yesterday", "created_to"),
            ("model=" + "m" * 256, "model"),
        ],
    )
    async def test_bad_query_is_a_422_naming_the_field(
        self, api: Api, query: str, field: str
    ) -> None:
        error = assert_error(await api.http.get(f"{ANALYTICS}?{query}", headers=api.admin), 422)
        assert error["fields"][0]["field"] == field
