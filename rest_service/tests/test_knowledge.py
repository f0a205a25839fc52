"""/api/knowledge: articles written by the admin token only, listed with paging and filters,
changed in part, deleted; searched by either token in Russian and in English, ranked, for an
assistant (its own and the shared ones); no write bumps the config version."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.tests.conftest import Api, assert_error
from tests.tiers import examples

PATH = "/api/knowledge/"
#: An id no row has; fixed, so every xdist worker collects the same test ids.
NO_ARTICLE = uuid.UUID(int=0x4B)
PROPERTY = settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def article(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"title": "Delivery", "body": "We deliver in two days.", **fields}
    return await api.ok("POST", PATH, api.admin, json=body)


async def search(api: Api, q: str, **params: Any) -> list[dict[str, Any]]:
    return await api.ok("GET", f"{PATH}search", api.service, params={"q": q, **params})


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", PATH),
            ("POST", PATH),
            ("GET", f"{PATH}search?q=x"),
            ("POST", f"{PATH}import"),
            ("GET", f"{PATH}{NO_ARTICLE}"),
            ("PUT", f"{PATH}{NO_ARTICLE}"),
            ("DELETE", f"{PATH}{NO_ARTICLE}"),
        ],
    )
    async def test_without_a_token_is_401(self, api: Api, method: str, path: str) -> None:
        assert_error(await api.http.request(method, path), 401)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", PATH),
            ("POST", PATH),
            ("POST", f"{PATH}import"),
            ("GET", f"{PATH}{NO_ARTICLE}"),
            ("PUT", f"{PATH}{NO_ARTICLE}"),
            ("DELETE", f"{PATH}{NO_ARTICLE}"),
        ],
    )
    async def test_the_service_token_only_searches(self, api: Api, method: str, path: str) -> None:
        assert_error(await api.http.request(method, path, headers=api.service), 403)


class TestWrite:
    async def test_create_get_update_delete(self, api: Api) -> None:
        owner = await api.assistant()
        version = await api.version()
        made = await article(
            api,
            assistant_id=owner["id"],
            title="  Returns ",
            language="EN",
            tags=["Policy", " policy ", "shop"],
        )
        assert made["title"] == "Returns" and made["language"] == "en"
        assert made["tags"] == ["policy", "shop"] and made["source"] == "manual"
        assert made["is_active"] is True and made["assistant_id"] == owner["id"]
        path = f"{PATH}{made['id']}"
        assert await api.ok("GET", path, api.admin) == made
        changed = await api.ok("PUT", path, api.admin, json={"body": "Within 30 days."})
        assert changed["body"] == "Within 30 days." and changed["title"] == "Returns"
        shared = await api.ok("PUT", path, api.admin, json={"assistant_id": None})
        assert shared["assistant_id"] is None and shared["language"] == "en"
        assert await api.version() == version, "articles are data, not config"
        gone = await api.http.delete(path, headers=api.admin)
        assert gone.status_code == 204
        assert_error(await api.http.get(path, headers=api.admin), 404, "not_found")
        assert_error(await api.http.delete(path, headers=api.admin), 404, "not_found")
        assert_error(await api.http.put(path, json={}, headers=api.admin), 404, "not_found")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"body": "x"}, "title"),
            ({"title": "   ", "body": "x"}, "title"),
            ({"title": "t" * 301, "body": "x"}, "title"),
            ({"title": "t"}, "body"),
            ({"title": "t", "body": "x\x00"}, "body"),
            ({"title": "t", "body": "x", "language": "english"}, "language"),
            ({"title": "t", "body": "x", "tags": ["t" * 65]}, "tags.0"),
            ({"title": "t", "body": "x", "tags": "a,b"}, "tags"),
            ({"title": "t", "body": "x", "tags": ["a", 1]}, "tags.1"),
            ({"title": "t", "body": "x", "assistant_id": "nope"}, "assistant_id"),
            ({"title": "t", "body": "x", "assistant_id": str(NO_ARTICLE)}, "assistant_id"),
        ],
    )
    async def test_invalid_bodies_are_422_naming_the_field(
        self, api: Api, body: dict[str, Any], field: str
    ) -> None:
        answer = assert_error(await api.http.post(PATH, json=body, headers=api.admin), 422)
        assert field in [f["field"] for f in answer["fields"]], answer

    async def test_an_update_refuses_null_for_a_required_field(self, api: Api) -> None:
        path = f"{PATH}{(await article(api))['id']}"
        for field in ("title", "body", "source", "is_active"):
            answer = assert_error(
                await api.http.put(path, json={field: None}, headers=api.admin), 422
            )
            assert answer["fields"][0]["field"] == field
        gone = str(uuid.uuid4())
        answer = assert_error(
            await api.http.put(path, json={"assistant_id": gone}, headers=api.admin), 422
        )
        assert answer["fields"] == [{"field": "assistant_id", "reason": f"no assistant {gone}"}]

    async def test_deleting_its_assistant_deletes_the_article(self, api: Api) -> None:
        owner = await api.assistant()
        made = await article(api, assistant_id=owner["id"])
        gone = await api.http.delete(f"/api/assistants/{owner['id']}", headers=api.admin)
        assert gone.status_code == 204, gone.text
        assert_error(await api.http.get(f"{PATH}{made['id']}", headers=api.admin), 404)

    @PROPERTY
    @given(
        body=st.one_of(
            st.fixed_dictionaries(
                {"title": st.text(max_size=310), "body": st.text(max_size=50)},
                optional={
                    "language": st.one_of(st.none(), st.text(max_size=6)),
                    "tags": st.lists(st.text(max_size=70), max_size=22),
                    "source": st.text(max_size=20),
                    "is_active": st.booleans(),
                },
            ),
            st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
        )
    )
    async def test_any_body_is_stored_or_a_422_naming_a_field(
        self, api: Api, body: dict[str, Any]
    ) -> None:
        response = await api.http.post(PATH, json=body, headers=api.admin)
        if response.status_code == 201:
            stored = response.json()
            assert stored["title"] == body["title"].strip() and stored["title"]
            return
        answer = assert_error(response, 422, "validation_error")
        assert answer["fields"] and all(f["field"] and f["reason"] for f in answer["fields"])


class TestList:
    async def test_paging_and_filters(self, api: Api) -> None:
        owner = await api.assistant()
        for n in range(5):
            await article(api, title=f"Shared {n}", tags=["faq"] if n % 2 else [])
        await article(
            api,
            title="Own",
            body="Pickup points",
            assistant_id=owner["id"],
            language="ru",
            source="a.md",
        )
        await article(api, title="Off", is_active=False)
        page = await api.http.get(PATH, params={"limit": 2, "offset": 1}, headers=api.admin)
        assert page.headers["X-Total-Count"] == "7" and len(page.json()) == 2
        titles = await self._titles(api, limit=1000)
        assert titles[:2] == ["Off", "Own"], "newest change first"

        assert await self._titles(api, assistant_id=owner["id"]) == ["Own"]
        assert await self._titles(api, shared="false") == ["Own"]
        assert len(await self._titles(api, shared="true")) == 6
        assert await self._titles(api, is_active="false") == ["Off"]
        assert await self._titles(api, language="RU") == ["Own"]
        assert await self._titles(api, source="a.md") == ["Own"]
        assert sorted(await self._titles(api, tag=" FAQ ")) == ["Shared 1", "Shared 3"]
        assert await self._titles(api, q="pickup") == ["Own"]
        assert len(await self._titles(api, q="!!!")) == 7, "no words: no narrowing"

    async def test_bad_paging_is_422(self, api: Api) -> None:
        for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"assistant_id": "x"}):
            answer = assert_error(await api.http.get(PATH, params=params, headers=api.admin), 422)
            assert answer["fields"][0]["field"] == next(iter(params))

    @staticmethod
    async def _titles(api: Api, **params: Any) -> list[str]:
        return [a["title"] for a in await api.ok("GET", PATH, api.admin, params=params)]


class TestSearch:
    async def test_english_words_are_stemmed_and_ranked(self, api: Api) -> None:
        best = await article(
            api, title="Delivery prices", body="Delivering an order costs 5 euros in the city."
        )
        await article(api, title="Opening hours", body="We open at nine; delivery is daily.")
        await article(api, title="Returns", body="Send it back within 30 days.")
        hits = await search(api, "How much does the delivery of my order cost?")
        assert [h["title"] for h in hits] == ["Delivery prices", "Opening hours"]
        assert hits[0]["id"] == best["id"] and hits[0]["rank"] > hits[1]["rank"]
        assert "an **order** **costs** 5 euros" in hits[0]["excerpt"]

    async def test_russian_words_are_stemmed_and_ranked(self, api: Api) -> None:
        await article(api, title="Доставка", body="Доставка заказа по городу стоит 300 рублей.")
        await article(api, title="Оплата", body="Оплатить заказ можно картой.")
        hits = await search(api, "Сколько стоит доставка?")
        assert [h["title"] for h in hits] == ["Доставка"]
        hits = await search(api, "как оплатить заказы")
        assert [h["title"] for h in hits] == ["Оплата", "Доставка"]

    async def test_an_assistant_sees_its_own_and_the_shared_articles(self, api: Api) -> None:
        ours, theirs = await api.assistant(), await api.assistant()
        await article(api, title="Shared warranty", body="warranty two years")
        await article(api, title="Our warranty", body="warranty", assistant_id=ours["id"])
        await article(api, title="Their warranty", body="warranty", assistant_id=theirs["id"])
        await article(api, title="Old warranty", body="warranty", is_active=False)
        seen = {h["title"] for h in await search(api, "warranty", assistant_id=ours["id"])}
        assert seen == {"Shared warranty", "Our warranty"}
        everything = {h["title"] for h in await search(api, "warranty", limit=20)}
        assert everything == {"Shared warranty", "Our warranty", "Their warranty"}
        assert len(await search(api, "warranty", limit=1)) == 1

    async def test_nothing_found_is_an_empty_list(self, api: Api) -> None:
        await article(api)
        assert await search(api, "unicorns") == []
        assert await search(api, "?!") == []
        assert await search(api, "the and of") == [], "stop words alone match nothing"

    @pytest.mark.parametrize(
        ("params", "field"),
        [({}, "q"), ({"q": ""}, "q"), ({"q": "x", "limit": 21}, "limit"),
         ({"q": "x", "limit": 0}, "limit"), ({"q": "x", "assistant_id": "1"}, "assistant_id")],
    )  # fmt: skip
    async def test_bad_queries_are_422(self, api: Api, params: dict[str, Any], field: str) -> None:
        response = await api.http.get(f"{PATH}search", params=params, headers=api.service)
        assert assert_error(response, 422)["fields"][0]["field"] == field

    @PROPERTY
    @given(q=st.text(min_size=1, max_size=200))
    async def test_any_query_answers_a_list(self, api: Api, q: str) -> None:
        response = await api.http.get(f"{PATH}search", params={"q": q}, headers=api.service)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_error(response, 422)
