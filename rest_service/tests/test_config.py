"""The live config: snapshot contents, version bumps, `config:updated` after every write,
the Redis cache (shared by instances, never stale), import/export and the seed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import delete, select, update
from sqlmodel import col

from common.infrastructure.redis_keys import Names
from ops.infra import migrate
from rest_service.app.domain.transfer import export_config
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.assistant import Assistant, AssistantToolLink, Tool
from rest_service.app.models.llm import LLMProvider
from rest_service.app.models.snapshot import ConfigDocument
from rest_service.app.settings import Settings
from rest_service.app.state import AppState
from rest_service.seed import DEFAULT_CONFIG, differences, load_document, reset, seed
from rest_service.tests.conftest import OBJECT_SCHEMA, Api, assert_error, unique

ARCHITECTURE_TOOL_ARGUMENTS = {
    "time": ({"action", "timezone", "time", "to_timezone", "phrase"}, set()),
    "weather": ({"location", "days"}, {"location"}),
    "calendar": (
        {"action", "time_min", "time_max", "summary", "start", "end", "description", "location"},
        {"action"},
    ),
    "reminder": ({"action", "text", "when", "recurrence", "reminder_id", "minutes"}, {"action"}),
    "sub_assistant": ({"query"}, {"query"}),
    "remember": ({"action", "fact", "fact_id"}, {"action"}),
    "web_search": ({"query", "max_results"}, {"query"}),
    "read_page": ({"url"}, {"url"}),
    "knowledge": ({"query", "limit"}, {"query"}),
    "catalogue": ({"action", "query", "tag", "max_price", "item_id", "limit"}, {"action"}),
    "contact": ({"action", "name", "phone", "email", "consent"}, {"action"}),
    "lead": ({"action", "items", "note"}, {"action"}),
    "handoff": ({"reason", "summary"}, {"reason", "summary"}),
    "tasks": (
        {"action", "title", "notes", "deadline", "priority", "remind", "task_id"},
        {"action"},
    ),
    "draw": ({"prompt", "size"}, {"prompt"}),
    "mail": ({"action", "query", "thread_id", "message_id", "to", "subject", "body"}, {"action"}),
}


async def next_message(pubsub: aioredis.client.PubSub, timeout: float = 3.0) -> str:
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    assert message is not None, "nothing published"
    return message["data"].decode()


class TestSnapshot:
    async def test_holds_active_assistants_with_active_tools_and_models(self, api: Api) -> None:
        model = await api.model(is_default=True)
        secretary = await api.assistant(is_secretary=True, model=model["name"])
        helper = await api.assistant()
        hidden = await api.assistant(is_active=False)
        sub_tool = await api.tool(tool_type="sub_assistant", assistant_id=helper["id"])
        plain, inactive = await api.tool(), await api.tool(is_active=False)
        for tool in (sub_tool, plain, inactive):
            await api.link(secretary["id"], tool["id"])
        snapshot = await api.ok("GET", "/api/config", api.service)
        assert snapshot["version"] == await api.version()
        assert snapshot["secretary"]["id"] == secretary["id"]
        names = {a["name"] for a in snapshot["assistants"]}
        assert names == {secretary["name"], helper["name"]} and hidden["name"] not in names
        tools = {t["name"]: t for t in snapshot["secretary"]["tools"]}
        assert set(tools) == {sub_tool["name"], plain["name"]}
        assert tools[plain["name"]]["input_schema"] == OBJECT_SCHEMA
        assert tools[sub_tool["name"]]["sub_assistant_id"] == helper["id"]
        listed = {m["name"]: m for m in snapshot["models"]}
        assert listed[model["name"]]["provider"]["id"] == model["provider"]["id"]
        assert listed[model["name"]]["is_default"] is True

    @pytest.mark.parametrize("stored", ["{hand-edited", "[1, 2]"])
    async def test_a_stored_schema_that_is_no_json_object_reads_as_an_empty_one(
        self, api: Api, app: FastAPI, stored: str
    ) -> None:
        """Schemas are checked on write; one edited by hand in the database must not break
        the snapshot every service reads."""
        secretary = await api.assistant(is_secretary=True)
        tool = await api.tool()
        await api.link(secretary["id"], tool["id"])
        async with unit_of_work(app.state.app_state) as ctx:
            await ctx.session.execute(
                update(Tool).where(col(Tool.name) == tool["name"]).values(input_schema=stored)
            )
        await api.assistant()  # a later write builds the next snapshot from the rows
        snapshot = await api.ok("GET", "/api/config", api.service)
        (read,) = [t for t in snapshot["secretary"]["tools"] if t["name"] == tool["name"]]
        assert read["input_schema"] == {"type": "object", "properties": {}}

    async def test_reads_are_served_from_the_cache_and_never_stale(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        first = await api.ok("GET", "/api/config", api.service)
        cached_version, cached = await redis.mget(names.config_version, names.config_snapshot)
        assert cached_version is not None and cached is not None
        assert int(cached_version) == first["version"] and json.loads(cached) == first
        await redis.set(names.config_version, -1)  # another instance's stale write
        await api.assistant()
        after = await api.ok("GET", "/api/config", api.service)
        assert after["version"] == first["version"] + 1


class TestLiveReload:
    async def test_every_config_write_bumps_the_version_and_publishes_it(
        self, api: Api, client: httpx.AsyncClient, redis: aioredis.Redis, names: Names
    ) -> None:
        pubsub = redis.pubsub()
        await pubsub.subscribe(names.config_updated)
        await pubsub.get_message(timeout=1)
        start = await api.version()
        provider = await api.provider()
        model = await api.model(provider["id"])
        assistant = await api.assistant()
        tool = await api.tool()
        link = await api.link(assistant["id"], tool["id"])
        await api.ok("PUT", f"/api/tools/{tool['id']}", api.admin, json={"description": "new"})
        await client.delete(f"/api/assistant-tools/{link['id']}", headers=api.admin)
        await client.delete(f"/api/llm-models/{model['id']}", headers=api.admin)
        published = [int(await next_message(pubsub)) for _ in range(8)]
        await pubsub.aclose()
        assert published == list(range(start + 1, start + 9))
        snapshot = await api.ok("GET", "/api/config", api.service)
        assert snapshot["version"] == published[-1]
        assert tool["name"] not in {t["name"] for a in snapshot["assistants"] for t in a["tools"]}

    async def test_a_refused_write_changes_nothing(self, api: Api, client) -> None:
        start = await api.version()
        bad = {"name": unique("t"), "tool_type": "time", "input_schema": {"type": 5}}
        assert_error(await client.post("/api/tools/", json=bad, headers=api.admin), 422)
        assert await api.version() == start

    @pytest.mark.commits
    async def test_concurrent_writes_get_distinct_versions(self, api: Api) -> None:
        start = await api.version()
        await asyncio.gather(*(api.assistant() for _ in range(5)))
        assert await api.version() == start + 5


class TestImportExport:
    def document(self, suffix: str) -> dict:
        return {
            "providers": [
                {
                    "name": f"p{suffix}",
                    "base_url": "http://llm.test/v1",
                    "api_key": "sk-import-secret-1",
                }
            ],
            "models": [
                {"provider": f"p{suffix}", "provider_model_name": f"m{suffix}", "display_name": "M"}
            ],
            "assistants": [
                {"name": f"boss{suffix}", "instructions": "lead", "model": f"m{suffix}"},
                {"name": f"helper{suffix}", "instructions": "help"},
            ],
            "tools": [
                {
                    "name": f"ask{suffix}",
                    "tool_type": "sub_assistant",
                    "sub_assistant": f"helper{suffix}",
                    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
                },
            ],
            "links": [{"assistant": f"boss{suffix}", "tool": f"ask{suffix}"}],
        }

    async def test_import_is_idempotent_by_name_and_export_round_trips(
        self, api: Api, client
    ) -> None:
        suffix = unique("")
        doc = self.document(suffix)
        first = await api.ok("POST", "/api/config/import", api.admin, json=doc)
        assert [
            first[k]["created"] for k in ("providers", "models", "assistants", "tools", "links")
        ] == [1, 1, 2, 1, 1]
        again = await api.ok("POST", "/api/config/import", api.admin, json=doc)
        assert all(
            again[k] == {"created": 0, "updated": 0}
            for k in ("providers", "models", "assistants", "tools", "links")
        )
        assert again["version"] == first["version"]
        doc["assistants"][1]["instructions"] = "help more"
        third = await api.ok("POST", "/api/config/import", api.admin, json=doc)
        assert (
            third["assistants"] == {"created": 0, "updated": 1}
            and third["version"] == first["version"] + 1
        )
        exported = await client.get("/api/config/export", headers=api.admin)
        assert "sk-import-secret-1" not in exported.text
        body = exported.json()
        assert {"name": f"p{suffix}", "base_url": "http://llm.test/v1", "is_active": True} in body[
            "providers"
        ]
        tool = next(t for t in body["tools"] if t["name"] == f"ask{suffix}")
        assert tool["sub_assistant"] == f"helper{suffix}"
        reimport = await api.ok("POST", "/api/config/import", api.admin, json=body)
        assert all(
            reimport[k]["created"] == 0 and reimport[k]["updated"] == 0
            for k in ("providers", "tools", "links")
        )

    async def test_an_import_gives_a_role_back_to_its_holder_whichever_row_sorts_first(
        self, api: Api, client
    ) -> None:
        provider = await api.provider()
        models = [await api.model(provider["id"]) for _ in range(2)]
        assistants = [await api.assistant() for _ in range(2)]
        # Both ways round: one flush updates rows in key order, not in the order they changed.
        for taker, holder in ((0, 1), (1, 0)):
            for flag in ("is_default", "is_fallback"):
                path = f"/api/llm-models/{models[holder]['id']}"
                await api.ok("PUT", path, api.admin, json={flag: True})
            path = f"/api/assistants/{assistants[holder]['id']}"
            await api.ok("PUT", path, api.admin, json={"is_secretary": True})
            model = models[taker]["provider_model_name"]
            doc = {
                "models": [
                    {
                        "provider": provider["name"],
                        "provider_model_name": model,
                        "is_default": True,
                        "is_fallback": True,
                    }
                ],
                "assistants": [
                    {
                        "name": assistants[taker]["name"],
                        "instructions": "Be brief.",
                        "is_secretary": True,
                    }
                ],
            }

            await api.ok("POST", "/api/config/import", api.admin, json=doc)

            config = (await client.get("/api/config", headers=api.service)).json()
            assert config["secretary"]["name"] == assistants[taker]["name"]
            held = {m["provider_model_name"]: m for m in config["models"]}
            assert held[model]["is_default"] and held[model]["is_fallback"]

    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (
                lambda d: d["tools"][0].update(input_schema={"type": "object", "properties": []}),
                "tools[0].input_schema",
            ),
            (lambda d: d["links"][0].update(tool="nope"), "links[0].tool"),
            (lambda d: d["models"][0].update(provider="nope"), "models[0].provider"),
            (lambda d: d["assistants"][0].update(model="nope"), "assistants[0].model"),
            (lambda d: d["tools"][0].update(sub_assistant="nope"), "tools[0].sub_assistant"),
            (lambda d: d["tools"][0].update(sub_assistant=None), "tools[0].sub_assistant"),
            (lambda d: d["links"][0].update(assistant="nope"), "links[0].assistant"),
            (lambda d: d["links"][0].update(sub_assistant="nope"), "links[0].sub_assistant"),
        ],
    )
    async def test_a_bad_item_is_422_naming_it_and_nothing_is_imported(
        self, api: Api, client, mutate, field: str
    ) -> None:
        suffix = unique("")
        doc = self.document(suffix)
        mutate(doc)
        response = await client.post("/api/config/import", json=doc, headers=api.admin)
        assert assert_error(response, 422)["fields"][0]["field"] == field
        providers = await api.ok("GET", "/api/llm-providers/", api.admin, params={"limit": 1000})
        assert f"p{suffix}" not in {p["name"] for p in providers}


async def exported(settings: Settings) -> ConfigDocument:
    state = AppState.create(settings)
    try:
        async with unit_of_work(state, "test") as ctx:
            return await export_config(ctx)
    finally:
        await state.close()


async def provider_key(settings: Settings, name: str) -> tuple[str | None, str | None]:
    """(the stored ciphertext, the key it decrypts to) of provider `name`."""
    state = AppState.create(settings)
    try:
        async with state.sessions() as session:
            row = await session.scalar(select(LLMProvider).where(col(LLMProvider.name) == name))
            assert row is not None
            stored = row.api_key_encrypted
            return stored, state.box.decrypt(stored) if stored else None
    finally:
        await state.close()


@pytest.mark.e2e  # migrates its own database (alembic runs as a process)
class TestSeed:
    """On a database of its own (the seed commits, and reads what is there)."""

    @pytest.fixture
    def seed_settings(self, settings: Settings, empty_database: str) -> Settings:
        migrate(empty_database)
        return settings.model_copy(
            update={
                "async_database_url": empty_database,
                "openai_base_url": "http://llm.seed.test/v1",
                "openai_api_key": "sk-seed-key-5678",
                "default_model": unique("default"),
                "fallback_model": unique("fallback"),
            }
        )

    async def test_seed_makes_the_secretary_and_running_it_again_changes_nothing(
        self, seed_settings: Settings
    ) -> None:
        first = await seed(seed_settings)
        assert first.full and "assistant secretary" in first.added
        config = await exported(seed_settings)
        (secretary,) = (a for a in config.assistants if a.is_secretary)
        assert secretary.name == "secretary"
        tools = {t.name: t for t in config.tools}
        assert set(tools) == set(ARCHITECTURE_TOOL_ARGUMENTS)
        for name, (arguments, required) in ARCHITECTURE_TOOL_ARGUMENTS.items():
            schema = tools[name].input_schema
            assert arguments <= set(schema["properties"]), name
            assert set(schema.get("required", [])) == required, name
        assert tools["sub_assistant"].sub_assistant == "writer"
        (consultant,) = (a for a in config.assistants if a.name == "consultant")
        assert not consultant.is_secretary and "do not know" in consultant.instructions
        assert consultant.feedback_buttons and not secretary.feedback_buttons
        linked = {(link.assistant, link.tool) for link in config.links}
        assert {("consultant", "knowledge"), ("consultant", "time")} <= linked
        assert {
            ("consultant", "contact"),
            ("consultant", "lead"),
            ("consultant", "handoff"),
        } <= linked
        assert "consent" in consultant.instructions and "`lead`" in consultant.instructions
        assert ("secretary", "knowledge") not in linked
        models = {m.provider_model_name: m for m in config.models}
        assert models[seed_settings.default_model].is_default is True
        assert models[seed_settings.fallback_model].is_fallback is True
        (provider,) = config.providers
        assert provider.base_url == "http://llm.seed.test/v1"
        stored, key = await provider_key(seed_settings, provider.name)
        assert key == "sk-seed-key-5678" and stored and "sk-seed" not in stored
        again = await seed(seed_settings)
        assert not again.full and again.added == [] and again.key_for is None
        assert all(
            getattr(again.result, k).created == getattr(again.result, k).updated == 0
            for k in ("providers", "models", "assistants", "tools", "links")
        )
        assert await exported(seed_settings) == config

    async def test_the_seed_keeps_admin_edits_and_only_a_reset_restores_them(
        self, seed_settings: Settings
    ) -> None:
        await seed(seed_settings)
        state = AppState.create(seed_settings)
        try:
            async with unit_of_work(state, "admin:test") as ctx:
                weather = await ctx.session.scalar(select(Tool).where(col(Tool.name) == "weather"))
                secretary = await ctx.session.scalar(
                    select(Assistant).where(col(Assistant.name) == "secretary")
                )
                assert weather is not None and secretary is not None
                weather.input_schema = json.dumps({"type": "object"})
                secretary.instructions = "Answer like a pirate."
        finally:
            await state.close()
        kept = await seed(seed_settings)
        assert kept.added == [] and kept.result.tools.updated == 0
        config = await exported(seed_settings)
        assert next(a for a in config.assistants if a.name == "secretary").instructions == (
            "Answer like a pirate."
        )
        lines = await differences(seed_settings)
        assert "~ assistant secretary: instructions differs:" in lines
        assert "~ tool weather: input_schema differs:" in lines
        assert not [line for line in lines if line.startswith("+")]
        restored = await reset(seed_settings)
        assert restored.tools.updated == 1 and restored.assistants.updated == 1
        config = await exported(seed_settings)
        assert next(t for t in config.tools if t.name == "weather").input_schema["required"] == [
            "location"
        ]
        assert await differences(seed_settings) == []

    async def test_reset_lists_every_kind_of_difference_before_it_changes_anything(
        self, seed_settings: Settings
    ) -> None:
        await seed(seed_settings)
        state = AppState.create(seed_settings)
        try:
            async with unit_of_work(state, "admin:test") as ctx:
                time_tool = await ctx.session.scalar(select(Tool).where(col(Tool.name) == "time"))
                assert time_tool is not None
                await ctx.session.execute(
                    delete(AssistantToolLink).where(col(AssistantToolLink.tool_id) == time_tool.id)
                )
                await ctx.session.delete(time_tool)
                secretary = await ctx.session.scalar(
                    select(Assistant).where(col(Assistant.name) == "secretary")
                )
                assert secretary is not None
                secretary.is_active, secretary.is_secretary = False, False
                secretary.instructions = "\n".join(f"rule {i}" for i in range(40))
                await ctx.session.flush()
                ctx.session.add(Assistant(name="butler", instructions="Bow.", is_secretary=True))
                provider = await ctx.session.scalar(
                    select(LLMProvider).where(col(LLMProvider.name) == "default")
                )
                assert provider is not None
                provider.api_key_encrypted = ctx.box.encrypt("sk-admins-own-key")
        finally:
            await state.close()
        lines = await differences(seed_settings)
        for expected in (
            "+ tool time",
            "+ link secretary -> time",
            "~ assistant secretary: is_active: False -> True",
            "~ assistant secretary: is_secretary: False -> True",
            "~ assistant butler: is_secretary: True -> False",
            "~ assistant secretary: instructions differs:",
            "~ provider default: api_key replaced by OPENAI_API_KEY",
        ):
            assert expected in lines, (expected, lines)
        assert any(line.strip().startswith("... ") for line in lines)  # a long diff is cut
        keyless = seed_settings.model_copy(update={"openai_api_key": ""})
        assert not [line for line in await differences(keyless) if "api_key" in line]

    async def test_the_seed_adds_only_what_is_missing_by_name_and_takes_no_flag(
        self, seed_settings: Settings
    ) -> None:
        await seed(seed_settings.model_copy(update={"openai_api_key": ""}))
        stored, _ = await provider_key(seed_settings, "default")
        assert stored is None  # no OPENAI_API_KEY: a provider without a key
        state = AppState.create(seed_settings)
        try:
            async with unit_of_work(state, "admin:test") as ctx:
                weather = await ctx.session.scalar(select(Tool).where(col(Tool.name) == "weather"))
                assert weather is not None
                await ctx.session.execute(
                    delete(AssistantToolLink).where(col(AssistantToolLink.tool_id) == weather.id)
                )
                await ctx.session.delete(weather)
                time_tool = await ctx.session.scalar(select(Tool).where(col(Tool.name) == "time"))
                assert time_tool is not None
                await ctx.session.execute(
                    delete(AssistantToolLink).where(col(AssistantToolLink.tool_id) == time_tool.id)
                )
        finally:
            await state.close()
        moved = seed_settings.model_copy(update={"default_model": unique("newer")})
        outcome = await seed(moved)
        assert outcome.added == [
            f"model {moved.default_model}",
            "tool weather",
            "link secretary -> weather",
        ]
        assert outcome.key_for == "default"  # the keyless provider gets OPENAI_API_KEY
        stored, key = await provider_key(seed_settings, "default")
        assert key == "sk-seed-key-5678" and stored and "sk-seed" not in stored
        config = await exported(seed_settings)
        models = {m.provider_model_name: m for m in config.models}
        assert models[seed_settings.default_model].is_default  # the admin's default stays
        assert not models[moved.default_model].is_default
        links = {(link.assistant, link.tool) for link in config.links}
        assert ("secretary", "weather") in links
        assert ("secretary", "time") not in links  # unlinked by the admin: left so

    def test_one_model_when_default_and_fallback_are_the_same(self, settings: Settings) -> None:
        same = settings.model_copy(update={"default_model": "m", "fallback_model": "m"})
        doc = load_document(same)
        chat = [m for m in doc.models if m.capabilities is None]
        assert [(m.provider_model_name, m.is_default, m.is_fallback) for m in chat] == [
            ("m", True, True)
        ]

    def test_seed_file_is_valid_json(self) -> None:
        assert json.loads(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))["assistants"]
