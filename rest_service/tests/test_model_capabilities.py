"""A model's `capabilities` through the API, the snapshot, import/export, the seed
and the admin, and a user's `voice_replies`: what is accepted, what is a 422 naming the field,
and the one rule that picks the transcription and the speech model."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.wire import ConfigSnapshot, ModelCapability, User
from rest_service.app.settings import Settings
from rest_service.seed import load_document, seed
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_admin import ORIGIN, login

KNOWN = [c.value for c in ModelCapability]
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Lists an admin (or a script) might send: known names, near misses, other JSON values.
CAPABILITY_LISTS = st.lists(
    st.one_of(
        st.sampled_from(KNOWN),
        st.sampled_from(["Chat", "audio", "tts", "whisper", "", " chat", "image"]),
        st.text(max_size=12),
        st.integers(),
        st.none(),
    ),
    max_size=6,
)


def acceptable(value: list[object]) -> bool:
    return bool(value) and all(v in KNOWN for v in value) and len(set(value)) == len(value)


def in_enum_order(value: list[str]) -> list[str]:
    return [c for c in KNOWN if c in value]


async def snapshot(api: Api) -> ConfigSnapshot:
    return ConfigSnapshot.model_validate(await api.ok("GET", "/api/config", api.service))


class TestApi:
    async def test_a_model_made_without_capabilities_chats(self, api: Api) -> None:
        model = await api.model()
        assert model["capabilities"] == ["chat"]

    async def test_capabilities_are_stored_in_one_order_and_put_replaces_them(
        self, api: Api
    ) -> None:
        model = await api.model(capabilities=["vision", "chat"])
        assert model["capabilities"] == ["chat", "vision"]
        path = f"/api/llm-models/{model['id']}"
        kept = await api.ok("PUT", path, api.admin, json={"display_name": "Eyes"})
        assert kept["capabilities"] == ["chat", "vision"]
        replaced = await api.ok("PUT", path, api.admin, json={"capabilities": ["speech"]})
        assert replaced["capabilities"] == ["speech"]
        assert (await api.ok("GET", path, api.service))["capabilities"] == ["speech"]

    async def test_list_filters_by_capability(self, api: Api) -> None:
        chat = await api.model()
        ears = await api.model(capabilities=["transcription"])
        found = await api.ok(
            "GET", "/api/llm-models/", api.service, params={"capability": "transcription"}
        )
        assert [m["id"] for m in found] == [ears["id"]]
        chatting = await api.ok(
            "GET", "/api/llm-models/", api.service, params={"capability": "chat", "active": True}
        )
        assert [m["id"] for m in chatting] == [chat["id"]]
        bad = await api.http.get(
            "/api/llm-models/", headers=api.service, params={"capability": "telepathy"}
        )
        assert assert_error(bad, 422)["fields"][0]["field"] == "capability"

    @PROPERTY
    @given(capabilities=CAPABILITY_LISTS)
    async def test_create_accepts_exactly_non_empty_distinct_known_lists(
        self, api: Api, capabilities: list[object]
    ) -> None:
        body = {
            "provider_id": (await api.provider())["id"],
            "provider_model_name": unique("m"),
            "capabilities": capabilities,
        }
        response = await api.http.post("/api/llm-models/", json=body, headers=api.admin)
        if acceptable(capabilities):
            assert response.status_code == 201, response.text
            assert response.json()["capabilities"] == in_enum_order(capabilities)  # type: ignore[arg-type]
        else:
            fields = assert_error(response, 422)["fields"]
            assert fields and all(f["field"].startswith("capabilities") for f in fields), fields

    @PROPERTY
    @given(capabilities=CAPABILITY_LISTS)
    async def test_update_refuses_what_create_refuses_and_keeps_the_row(
        self, api: Api, capabilities: list[object]
    ) -> None:
        model = await api.model(capabilities=["chat", "vision"])
        path = f"/api/llm-models/{model['id']}"
        response = await api.http.put(path, json={"capabilities": capabilities}, headers=api.admin)
        if acceptable(capabilities):
            assert response.status_code == 200, response.text
        else:
            assert_error(response, 422)
            assert (await api.ok("GET", path, api.admin))["capabilities"] == ["chat", "vision"]

    @pytest.mark.parametrize(
        ("capabilities", "reason"),
        [
            (["telepathy"], "chat"),
            ([], "at least 1"),
            (["chat", "chat"], "once"),
            ("chat", "list"),
            (None, "list"),
        ],
    )
    async def test_each_bad_list_is_named_with_its_reason(
        self, api: Api, capabilities: object, reason: str
    ) -> None:
        body = {
            "provider_id": (await api.provider())["id"],
            "provider_model_name": unique("m"),
            "capabilities": capabilities,
        }
        response = await api.http.post("/api/llm-models/", json=body, headers=api.admin)
        (field,) = assert_error(response, 422)["fields"]
        assert field["field"].startswith("capabilities") and reason in field["reason"], field

    @pytest.mark.parametrize("flag", ["is_default", "is_fallback"])
    async def test_the_default_and_fallback_must_chat(self, api: Api, flag: str) -> None:
        provider = (await api.provider())["id"]
        body = {
            "provider_id": provider,
            "provider_model_name": unique("m"),
            "capabilities": ["speech"],
            flag: True,
        }
        response = await api.http.post("/api/llm-models/", json=body, headers=api.admin)
        assert assert_error(response, 422)["fields"][0]["field"] == "capabilities"
        chat = await api.model(provider, **{flag: True})
        response = await api.http.put(
            f"/api/llm-models/{chat['id']}", json={"capabilities": ["vision"]}, headers=api.admin
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "capabilities"

    async def test_users_and_assistants_choose_only_chat_models(self, api: Api) -> None:
        voice = await api.model(capabilities=["speech"])
        user = await api.user()
        response = await api.http.put(
            f"/api/users/{user['id']}",
            json={"preferred_model": voice["name"]},
            headers=api.service,
        )
        field = assert_error(response, 422)["fields"][0]
        assert field["field"] == "preferred_model" and "cannot chat" in field["reason"]
        response = await api.http.post(
            "/api/assistants/",
            json={"name": unique("a"), "model": voice["name"]},
            headers=api.admin,
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "model"

    async def test_a_chosen_model_keeps_chat(self, api: Api) -> None:
        model = await api.model(capabilities=["chat", "vision"])
        path = f"/api/llm-models/{model['id']}"
        user = await api.user(preferred_model=model["name"])
        response = await api.http.put(path, json={"capabilities": ["vision"]}, headers=api.admin)
        field = assert_error(response, 409)["fields"][0]
        assert field["field"] == "capabilities" and "1 users" in field["reason"]
        await api.ok("PUT", f"/api/users/{user['id']}", api.service, json={"preferred_model": None})
        await api.ok("PUT", path, api.admin, json={"capabilities": ["vision"]})


class TestSnapshot:
    async def test_models_carry_capabilities_and_a_change_bumps_the_version(self, api: Api) -> None:
        model = await api.model(capabilities=["chat", "vision"])
        before = await snapshot(api)
        (listed,) = [m for m in before.models if m.name == model["name"]]
        assert listed.capabilities == [ModelCapability.chat, ModelCapability.vision]
        await api.ok(
            "PUT", f"/api/llm-models/{model['id']}", api.admin, json={"capabilities": ["chat"]}
        )
        after = await snapshot(api)
        assert after.version == before.version + 1
        (listed,) = [m for m in after.models if m.name == model["name"]]
        assert listed.capabilities == [ModelCapability.chat]

    async def test_the_voice_models_are_the_first_active_with_the_capability(
        self, api: Api
    ) -> None:
        assert (await snapshot(api)).model_with(ModelCapability.transcription) is None
        provider = (await api.provider())["id"]
        await api.model(provider, provider_model_name="b-ears", capabilities=["transcription"])
        await api.model(
            provider, provider_model_name="a-off", capabilities=["transcription"], is_active=False
        )
        default = await api.model(provider, is_default=True, capabilities=["chat", "speech"])
        await api.model(provider, provider_model_name="a-voice", capabilities=["speech"])
        picked = await snapshot(api)
        ears = picked.model_with(ModelCapability.transcription)
        assert ears is not None and ears.name == "b-ears"
        voice = picked.model_with(ModelCapability.speech)
        assert voice is not None and voice.name == default["name"]  # the default first
        assert picked.model_with(ModelCapability.vision) is None


class TestImportExport:
    def document(self, suffix: str, **model: object) -> dict:
        return {
            "providers": [{"name": f"p{suffix}", "base_url": "http://llm.test/v1"}],
            "models": [{"provider": f"p{suffix}", "provider_model_name": f"m{suffix}", **model}],
        }

    async def models_by_name(self, api: Api) -> dict[str, dict]:
        exported = await api.ok("GET", "/api/config/export", api.admin)
        return {m["provider_model_name"]: m for m in exported["models"]}

    async def test_export_carries_capabilities_and_reimport_changes_nothing(self, api: Api) -> None:
        suffix = unique("")
        doc = self.document(suffix, capabilities=["vision", "chat"])
        first = await api.ok("POST", "/api/config/import", api.admin, json=doc)
        assert first["models"]["created"] == 1
        exported = await api.ok("GET", "/api/config/export", api.admin)
        (model,) = [m for m in exported["models"] if m["provider_model_name"] == f"m{suffix}"]
        assert model["capabilities"] == ["chat", "vision"]
        again = await api.ok("POST", "/api/config/import", api.admin, json=exported)
        assert again["version"] == first["version"]
        assert all(again[k] == {"created": 0, "updated": 0} for k in ("providers", "models"))

    async def test_a_document_without_capabilities_keeps_what_a_model_has(self, api: Api) -> None:
        suffix = unique("")
        await api.ok("POST", "/api/config/import", api.admin, json=self.document(suffix))
        assert (await self.models_by_name(api))[f"m{suffix}"]["capabilities"] == ["chat"]
        changed = self.document(suffix, capabilities=["chat", "vision"])
        result = await api.ok("POST", "/api/config/import", api.admin, json=changed)
        assert result["models"]["updated"] == 1
        same = await api.ok("POST", "/api/config/import", api.admin, json=self.document(suffix))
        assert same["models"] == {"created": 0, "updated": 0}
        assert (await self.models_by_name(api))[f"m{suffix}"]["capabilities"] == ["chat", "vision"]

    @pytest.mark.parametrize(
        ("model", "field"),
        [
            ({"capabilities": ["ears"]}, "models.0.capabilities"),
            ({"capabilities": []}, "models.0.capabilities"),
            ({"capabilities": ["speech", "speech"]}, "models.0.capabilities"),
            ({"capabilities": ["speech"], "is_default": True}, "models[0].capabilities"),
        ],
    )
    async def test_a_bad_list_is_422_naming_the_item_and_nothing_is_imported(
        self, api: Api, model: dict, field: str
    ) -> None:
        suffix = unique("")
        response = await api.http.post(
            "/api/config/import", json=self.document(suffix, **model), headers=api.admin
        )
        assert assert_error(response, 422)["fields"][0]["field"].startswith(field)
        assert f"m{suffix}" not in await self.models_by_name(api)

    async def test_an_import_keeps_chosen_models_chatting(self, api: Api) -> None:
        suffix = unique("")
        doc = self.document(suffix, capabilities=["speech"])
        doc["assistants"] = [{"name": f"a{suffix}", "model": f"m{suffix}"}]
        response = await api.http.post("/api/config/import", json=doc, headers=api.admin)
        assert assert_error(response, 422)["fields"][0]["field"] == "assistants[0].model"
        await api.ok("POST", "/api/config/import", api.admin, json=self.document(suffix))
        await api.user(preferred_model=f"m{suffix}")
        response = await api.http.post(
            "/api/config/import",
            json=self.document(suffix, capabilities=["speech"]),
            headers=api.admin,
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "models[0].capabilities"
        assert (await self.models_by_name(api))[f"m{suffix}"]["capabilities"] == ["chat"]


@pytest.mark.commits  # the seed commits through an engine of its own
class TestSeed:
    async def test_voice_works_out_of_the_box_and_the_chat_models_chat(
        self, api: Api, settings: Settings
    ) -> None:
        names = {k: unique(k) for k in ("default", "fallback", "ears", "voice")}
        seeded = settings.model_copy(
            update={
                # as test_config's seed has them: the shared database's provider "default"
                "openai_base_url": "http://llm.seed.test/v1",
                "openai_api_key": "sk-seed-key-5678",
                "default_model": names["default"],
                "fallback_model": names["fallback"],
                "transcription_model": names["ears"],
                "speech_model": names["voice"],
            }
        )
        await seed(seeded)
        models = {
            m["name"]: m for m in await api.ok("GET", "/api/llm-models/?limit=1000", api.admin)
        }
        assert models[names["default"]]["capabilities"] == ["chat"]
        assert models[names["fallback"]]["capabilities"] == ["chat"]
        assert models[names["ears"]]["capabilities"] == ["transcription"]
        assert models[names["voice"]]["capabilities"] == ["speech"]
        assert models[names["ears"]]["provider"] == models[names["default"]]["provider"]
        path = f"/api/llm-models/{models[names['default']]['id']}"
        await api.ok("PUT", path, api.admin, json={"capabilities": ["chat", "vision"]})
        again = await seed(seeded)
        assert again.result.models.created == 0
        assert (await api.ok("GET", path, api.admin))["capabilities"] == ["chat", "vision"]
        # The rule picks among every active model; these are the ones this seed made.
        picked = await snapshot(api)
        ours = picked.model_copy(
            update={"models": tuple(m for m in picked.models if m.name in names.values())}
        )
        assert ours.model_with(ModelCapability.transcription).name == names["ears"]  # type: ignore[union-attr]
        assert ours.model_with(ModelCapability.speech).name == names["voice"]  # type: ignore[union-attr]

    async def test_a_database_seeded_before_pictures_gets_draw_for_its_secretary(
        self, api: Api, settings: Settings
    ) -> None:
        seeded = settings.model_copy(
            update={
                "openai_base_url": "http://llm.seed.test/v1",
                "openai_api_key": "sk-seed-key-5678",
            }
        )
        await seed(seeded)
        tools = await api.ok("GET", "/api/tools/?limit=1000", api.admin)
        (draw,) = [t for t in tools if t["name"] == "draw"]
        gone = await api.http.delete(f"/api/tools/{draw['id']}?cascade=true", headers=api.admin)
        assert gone.status_code == 204  # as a database from before the draw tool has it
        again = await seed(seeded)
        assert not again.full
        assert {"tool draw", "link secretary -> draw"} <= set(again.added)
        secretary = next(
            a for a in await api.ok("GET", "/api/assistants/?limit=1000", api.admin)
            if a["name"] == "secretary"
        )  # fmt: skip
        linked = await api.ok("GET", f"/api/assistants/{secretary['id']}/tools", api.admin)
        assert "draw" in {t["name"] for t in linked}

    def test_the_default_names_are_openai_s(self, settings: Settings) -> None:
        voice = {m.provider_model_name: m.capabilities for m in load_document(settings).models}
        assert voice == {
            settings.default_model: None,  # left out: a new model chats, a seeded one keeps
            settings.fallback_model: None,
            "whisper-1": [ModelCapability.transcription],
            "tts-1": [ModelCapability.speech],
        }

    def test_an_empty_voice_setting_seeds_no_such_model(self, settings: Settings) -> None:
        doc = load_document(settings.model_copy(update={"transcription_model": " "}))
        assert [m.capabilities for m in doc.models if m.capabilities] == [[ModelCapability.speech]]

    def test_a_picture_model_is_seeded_only_when_named_and_the_secretary_draws(
        self, settings: Settings
    ) -> None:
        unnamed = load_document(settings)
        named = load_document(settings.model_copy(update={"image_model": "dall-e-3"}))
        assert all(ModelCapability.image not in (m.capabilities or []) for m in unnamed.models)
        assert [m.provider_model_name for m in named.models if m.capabilities == ["image"]] == [
            "dall-e-3"
        ]
        assert any(link.assistant == "secretary" and link.tool == "draw" for link in named.links)

    def test_one_model_named_twice_does_both(self, settings: Settings) -> None:
        same = settings.model_copy(update={"default_model": "omni", "speech_model": "omni"})
        (omni,) = [m for m in load_document(same).models if m.provider_model_name == "omni"]
        assert omni.is_default and omni.capabilities == [
            ModelCapability.chat,
            ModelCapability.speech,
        ]


class TestVoiceReplies:
    async def test_off_by_default_set_by_put_and_on_the_wire(self, api: Api) -> None:
        user = await api.user()
        assert user["voice_replies"] is False
        path = f"/api/users/{user['id']}"
        on = await api.ok("PUT", path, api.service, json={"voice_replies": True})
        assert on["voice_replies"] is True
        kept = await api.ok("PUT", path, api.service, json={"timezone": "Europe/Berlin"})
        assert User.model_validate(kept).voice_replies is True
        again = await api.ok(
            "POST", "/api/users/", api.service, json={"telegram_id": user["telegram_id"]}
        )
        assert again["voice_replies"] is True

    @pytest.mark.parametrize("value", ["yes please", 2, [], {}])
    async def test_a_non_boolean_is_422_naming_it(self, api: Api, value: object) -> None:
        user = await api.user()
        response = await api.http.put(
            f"/api/users/{user['id']}", json={"voice_replies": value}, headers=api.service
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "voice_replies"


class TestAdmin:
    async def test_the_model_form_sets_and_shows_capabilities(self, api: Api, secrets) -> None:
        await login(api.http, secrets["ADMIN_API_TOKEN"])
        provider = await api.provider()
        name = unique("m")
        form = {
            "provider_model_name": name,
            "display_name": "",
            "provider_id": provider["id"],
            "capabilities": ["chat", "vision"],
            "is_active": "y",
        }
        response = await api.http.post("/admin/llm-model/create", data=form, headers=ORIGIN)  # type: ignore[arg-type]
        assert response.status_code == 302, response.text
        (made,) = [
            m
            for m in await api.ok("GET", "/api/llm-models/?limit=1000", api.admin)
            if m["name"] == name
        ]
        assert made["capabilities"] == ["chat", "vision"]
        listing = (await api.http.get("/admin/llm-model/list")).text
        assert "chat, vision" in listing
        edit = (await api.http.get(f"/admin/llm-model/edit/{made['id']}")).text
        boxes = re.findall(r"<input[^>]*>", edit)
        checked = [b for b in boxes if 'name="capabilities"' in b and "checked" in b]
        assert len(checked) == 2 and 'value="vision"' in checked[1], boxes
        refused = await api.http.post(
            f"/admin/llm-model/edit/{made['id']}",
            data={"provider_model_name": name, "provider_id": provider["id"]},
            headers=ORIGIN,
        )
        assert refused.status_code == 400 and "capabilities" in refused.text
        assert (await api.ok("GET", f"/api/llm-models/{made['id']}", api.admin))[
            "capabilities"
        ] == ["chat", "vision"]

    async def test_the_user_list_shows_voice_replies(self, api: Api, secrets) -> None:
        await login(api.http, secrets["ADMIN_API_TOKEN"])
        await api.user()
        listing = (await api.http.get("/admin/user/list")).text
        assert "Voice replies" in listing  # headers are words
