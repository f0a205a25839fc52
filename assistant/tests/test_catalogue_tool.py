"""The `catalogue` tool against the real rest_service: an assistant finds its own items and the
shared ones, never another business's or an inactive one; prices and availability come
exactly from the row; an empty search says so. And one turn through the assistant where the
model calls it and the answer's price is the row's."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.catalogue_tool import NOTHING, QUOTE, CatalogueTool
from assistant.tests.support import Deployment, Platform, tool_spec
from assistant.tests.test_tools_end_to_end import tool_results
from common.features.buttons import ButtonAction, ButtonData, decode
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from tests.tiers import examples

SEED = Path(__file__).resolve().parents[2] / "rest_service" / "seed" / "default_config.json"


def seed_tool() -> dict[str, Any]:
    tools = json.loads(SEED.read_text(encoding="utf-8"))["tools"]
    return next(t for t in tools if t["tool_type"] == "catalogue")


@pytest.fixture
async def admin(platform: Platform) -> AsyncIterator[RestClient]:
    async with RestClient(platform.rest_url, platform.secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[CatalogueTool]:
    settings = Settings(environment="test", redis_url=redis_url)
    spec = tool_spec("catalogue", input_schema=seed_tool()["input_schema"])
    async with client_session() as http:
        yield CatalogueTool(spec, ToolServices(settings, redis, names, rest, http))


async def business(admin: RestClient) -> uuid.UUID:
    body = {"name": f"shop-{uuid.uuid4().hex[:8]}", "instructions": "Sell."}
    return uuid.UUID((await admin.post_json("/api/assistants/", body))["id"])


async def add(admin: RestClient, **fields: Any) -> dict[str, Any]:
    body = {"price": "10.00", "currency": "EUR", **fields}
    made: dict[str, Any] = await admin.post_json("/api/catalogue/", body)
    return made


def origin(assistant_id: uuid.UUID) -> ToolCallOrigin:
    actor = Actor(str(uuid.uuid4()), "c", 1, "Europe/Berlin")
    return ToolCallOrigin(actor, str(uuid.uuid4()), assistant_id, "0", 0)


async def test_search_gives_its_own_and_shared_items_with_exact_prices(
    tool: CatalogueTool, admin: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    shop, rival = await business(admin), await business(admin)
    word = f"w{uuid.uuid4().hex[:8]}"
    ours = await add(
        admin,
        name=f"Haircut {word}",
        price="1500.50",
        currency="RUB",
        assistant_id=str(shop),
        stock=2,
        duration_minutes=45,
        description="x" * 300,
    )
    await add(admin, name=f"Gift card {word}", price="25", assistant_id=None, available=False)
    await add(admin, name=f"Rival {word}", assistant_id=str(rival))
    await add(admin, name=f"Retired {word}", assistant_id=str(shop), is_active=False)

    call = origin(shop)
    found = await tool.run({"action": "search", "query": word}, call)

    assert found["note"] == QUOTE
    noted = [
        json.loads(raw) for raw in await redis.lrange(names.catalogue_shown(call.message_id), 0, -1)
    ]
    assert {(n["id"], n["name"]) for n in noted} == {
        (i["item_id"], i["name"]) for i in found["items"]
    }
    by_name = {i["name"]: i for i in found["items"]}
    assert set(by_name) == {f"Haircut {word}", f"Gift card {word}"}
    haircut = by_name[f"Haircut {word}"]
    assert haircut["price"] == "1500.50 RUB" and haircut["availability"] == "available, 2 in stock"
    assert haircut["duration_minutes"] == 45 and len(haircut["description"]) == 200
    assert by_name[f"Gift card {word}"]["price"] == "25.00 EUR"
    assert by_name[f"Gift card {word}"]["availability"] == "not available"
    shown = await tool.run({"action": "show", "item_id": ours["id"]}, origin(shop))
    assert shown["item"]["description"] == "x" * 300
    with pytest.raises(ToolError, match="no item"):
        await tool.run({"item_id": ours["id"]}, origin(rival))


async def test_filters_and_an_empty_search_says_so(tool: CatalogueTool, admin: RestClient) -> None:
    shop = await business(admin)
    word = f"w{uuid.uuid4().hex[:8]}"
    await add(admin, name=f"Cheap {word}", price="5", tags=["sale"], assistant_id=str(shop))
    await add(admin, name=f"Dear {word}", price="500", stock=0, assistant_id=str(shop))

    async def names(**arguments: Any) -> list[str]:
        found = await tool.run({"action": "search", "query": word, **arguments}, origin(shop))
        return sorted(i["name"] for i in found["items"])

    assert await names(max_price=10) == [f"Cheap {word}"]
    assert await names(max_price="10,5") == [f"Cheap {word}"]
    assert await names(tag="SALE") == [f"Cheap {word}"]
    assert await names(limit=1) in ([f"Cheap {word}"], [f"Dear {word}"])
    dear = (await tool.run({"query": f"dear {word}"}, origin(shop)))["items"][0]
    assert dear["availability"] == "out of stock"
    empty = origin(shop)
    nothing = await tool.run({"action": "search", "query": "zzqx" + word}, empty)
    assert nothing == {"items": [], "note": NOTHING}
    assert not await tool.services.redis.exists(
        tool.services.names.catalogue_shown(empty.message_id)
    )


@pytest.mark.parametrize(
    ("arguments", "told"),
    [
        ({"action": "buy"}, "unknown action"),
        ({"action": "show"}, "needs 'item_id'"),
        ({"action": "show", "item_id": "the red one"}, "is not an id"),
        ({"action": "search", "query": "x" * 401}, "longer than 400"),
        ({"action": "search", "max_price": "cheap"}, "is not a number"),
        ({"action": "search", "max_price": -1}, "0 or more"),
        ({"action": "search", "max_price": "Infinity"}, "0 or more"),
    ],
)
async def test_what_cannot_be_searched_is_said_before_rest_service_is_asked(
    services: ToolServices, arguments: dict[str, Any], told: str
) -> None:
    """`services` has no rest_service behind it: these refusals need none."""
    tool = CatalogueTool(tool_spec("catalogue"), services)
    with pytest.raises(ToolError, match=told):
        await tool.run(arguments, origin(uuid.uuid4()))


async def test_a_search_rest_service_refuses_is_an_error_saying_why(
    tool: CatalogueTool,
) -> None:
    with pytest.raises(ToolError, match="the catalogue refused the search"):
        await tool.run({"action": "search", "max_price": 10**13}, origin(uuid.uuid4()))


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    arguments=st.fixed_dictionaries(
        {},
        optional={
            "action": st.sampled_from(["search", "show"]),
            "query": st.text(max_size=50),
            "tag": st.text(max_size=20),
            "max_price": st.none() | st.integers(0, 10**6) | st.decimals(0, 10**6, places=2),
            "item_id": st.none() | st.uuids().map(str),
            "limit": st.integers(1, 10),
        },
    )
)
async def test_any_valid_arguments_give_items_or_a_plain_error(
    tool: CatalogueTool, arguments: dict[str, Any]
) -> None:
    if isinstance(arguments.get("max_price"), Decimal):
        arguments["max_price"] = float(arguments["max_price"])
    try:
        result = await tool.run(arguments, origin(uuid.uuid4()))
    except ToolError as exc:
        assert str(exc)
        return
    assert ("items" in result) != ("item" in result)


async def test_the_models_answer_quotes_the_rows_price(deployment: Deployment) -> None:
    await deployment.assistant()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    word = f"w{uuid.uuid4().hex[:8]}"
    body = {"name": f"Стрижка {word}", "price": "1234.50", "currency": "RUB"}
    made = await deployment.admin.post_json("/api/catalogue/", {**body, "assistant_id": secretary})
    spec = {**seed_tool(), "name": f"catalogue_{word}"}
    tool = await deployment.admin.post_json("/api/tools/", spec)
    await deployment.admin.post_json(f"/api/assistants/{secretary}/tools/{tool['id']}")
    try:
        ann = await deployment.user("Ann")
        deployment.llm.call(spec["name"], {"action": "search", "query": f"стрижку {word}"})

        answer = await deployment.ask(ann, "сколько стоит стрижка?")

        (result,) = tool_results(deployment.llm.requests[1])
        assert [i["item_id"] for i in result["items"]] == [made["id"]]
        assert result["items"][0]["price"] == "1234.50 RUB"
        assert "1234.50 RUB" in answer.text
        [[show]] = answer.buttons
        assert decode(show.data) == ButtonData(ButtonAction.CATALOGUE_SHOW, made["id"])
        assert show.text.endswith(f"Стрижка {word}")
    finally:
        await deployment.admin.delete(f"/api/tools/{tool['id']}", cascade=True)
        await deployment.admin.delete(f"/api/catalogue/{made['id']}")
