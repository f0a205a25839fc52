"""/api/experiments: made with their arms (refusals name the field), one running per
assistant, carried by the live config; stop and promote land in the change history and are
reverted from it; answers marked with an arm assign their person once; the results add up."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.tests.conftest import Api, assert_error, unique
from tests.tiers import examples

PATH = "/api/experiments/"
CONTROL = {"name": "control", "share": 50, "is_control": True}


async def start(api: Api, assistant_id: str, *variants: dict[str, Any]) -> dict[str, Any]:
    arms = list(variants) or [CONTROL, {"name": "short", "share": 50, "instructions": "Terse."}]
    body = {"assistant_id": assistant_id, "name": unique("exp"), "variants": arms}
    return await api.ok("POST", PATH, api.admin, json=body)


async def changes(api: Api, entity_id: str) -> list[dict[str, Any]]:
    return await api.ok("GET", f"/api/config/changes?entity_id={entity_id}", api.admin)


async def revert(api: Api, change: dict[str, Any]) -> None:
    await api.ok("POST", f"/api/config/changes/{change['id']}/revert", api.admin)


async def answer(api: Api, thread: str, user: str, arm: str | None, **figures: Any) -> str:
    """A stored answer in `arm`; its history key, to rate it by."""
    key = f"{uuid.uuid4()}:answer"
    await api.say(
        thread,
        "ok",
        role="assistant",
        user_id=user,
        experiment_variant_id=arm,
        dedup_key=key,
        **figures,
    )
    return key


async def rate(api: Api, key: str, user: str, assistant: str, rating: int) -> None:
    body = {"message_key": key, "user_id": user, "assistant_id": assistant, "rating": rating}
    await api.ok("POST", "/api/feedback/", api.service, json=body)


class TestCreate:
    async def test_starts_at_once_and_the_live_config_carries_it(self, api: Api) -> None:
        assistant = await api.assistant()
        model = await api.model()
        before = await api.version()
        made = await start(
            api,
            assistant["id"],
            {**CONTROL, "share": 34},
            {"name": "b", "share": 33, "instructions": "Terse."},
            {"name": "c", "share": 33, "model": model["provider_model_name"]},
        )
        assert made["status"] == "running" and made["ended_at"] is None
        assert [(v["name"], v["position"]) for v in made["variants"]] == [
            ("control", 0),
            ("b", 1),
            ("c", 2),
        ]
        assert await api.version() == before + 1
        config = await api.ok("GET", "/api/config", api.service)
        (carried,) = [e for e in config["experiments"] if e["id"] == made["id"]]
        assert [v["model"] for v in carried["variants"]] == [
            None,
            None,
            model["provider_model_name"],
        ]
        listed = await api.ok("GET", f"{PATH}?assistant_id={assistant['id']}", api.admin)
        assert [e["id"] for e in listed] == [made["id"]]

    async def test_bad_arms_are_a_422_naming_the_field(self, api: Api) -> None:
        assistant = await api.assistant()
        terse = {"name": "terse", "share": 50, "instructions": "Terse."}
        for variants, field in (
            ([CONTROL, {**terse, "share": 40}], "variants"),
            ([{**CONTROL, "is_control": False}, terse], "variants"),
            ([{**terse, "name": "a"}, terse], "variants"),
            ([CONTROL, {**CONTROL, "name": "again"}], "variants"),
            ([{**CONTROL, "instructions": "x"}, terse], "variants.0"),
            ([CONTROL, {"name": "same", "share": 50}], "variants.1"),
            ([CONTROL, {**terse, "model": "no-such-model"}], "variants.1.model"),
            ([CONTROL, {**terse, "name": "Control"}], "variants.1.name"),
            ([{**CONTROL, "share": 100}], "variants"),
            ([CONTROL, {**terse, "share": 0}], "variants.1.share"),
        ):
            body = {"assistant_id": assistant["id"], "name": "x", "variants": variants}
            response = await api.http.post(PATH, headers=api.admin, json=body)
            error = assert_error(response, 422)
            assert field in {f["field"] for f in error["fields"]}, (variants, error)

    async def test_an_unknown_assistant_is_404(self, api: Api) -> None:
        response = await api.http.post(
            PATH, headers=api.admin, json={"assistant_id": str(uuid.uuid4()), "name": "x",
            "variants": [CONTROL, {"name": "b", "share": 50, "instructions": "B"}]},
        )  # fmt: skip
        assert_error(response, 404)

    async def test_one_running_experiment_per_assistant(self, api: Api) -> None:
        assistant = await api.assistant()
        first = await start(api, assistant["id"])
        body = {
            "assistant_id": assistant["id"],
            "name": "second",
            "variants": [CONTROL, {"name": "b", "share": 50, "instructions": "B"}],
        }
        error = assert_error(await api.http.post(PATH, headers=api.admin, json=body), 409)
        assert error["fields"][0]["field"] == "assistant_id"
        await api.ok("POST", f"{PATH}{first['id']}/stop", api.admin)
        await api.ok("POST", PATH, api.admin, json=body)
        other = await start(api, (await api.assistant())["id"])  # another assistant: fine
        assert other["status"] == "running"


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    variants=st.lists(
        st.fixed_dictionaries(
            {"name": st.text(max_size=8), "share": st.integers(min_value=-5, max_value=120)},
            optional={
                "is_control": st.booleans(),
                "instructions": st.one_of(st.none(), st.text(max_size=10)),
                "model": st.one_of(st.none(), st.text(max_size=10)),
            },
        ),
        max_size=12,
    )
)
async def test_any_arms_are_started_or_refused_by_field(
    api: Api, variants: list[dict[str, Any]]
) -> None:
    assistant = await api.assistant()
    body = {"assistant_id": assistant["id"], "name": "prop", "variants": variants}
    response = await api.http.post(PATH, headers=api.admin, json=body)
    if response.status_code == 201:
        made = response.json()
        assert sum(v["share"] for v in made["variants"]) == 100
        assert sum(v["is_control"] for v in made["variants"]) == 1
        return
    fields = {f["field"] for f in assert_error(response, 422)["fields"]}
    assert fields and all(f == "variants" or f.startswith("variants.") for f in fields), fields


class TestStopAndPromote:
    async def test_stop_is_recorded_and_reverted_from_the_history(self, api: Api) -> None:
        assistant = await api.assistant()
        made = await start(api, assistant["id"])
        stopped = await api.ok("POST", f"{PATH}{made['id']}/stop", api.admin)
        assert stopped["status"] == "stopped" and stopped["ended_at"] is not None
        config = await api.ok("GET", "/api/config", api.service)
        assert made["id"] not in {e["id"] for e in config["experiments"]}
        again = await api.http.post(f"{PATH}{made['id']}/stop", headers=api.admin)
        assert_error(again, 409)
        history = await changes(api, made["id"])
        assert [(c["action"], (c["after"] or {}).get("status")) for c in history] == [
            ("updated", "stopped"),
            ("created", "running"),
        ]
        await revert(api, history[-1])
        back = await api.ok("GET", f"{PATH}{made['id']}", api.admin)
        assert back["status"] == "running" and back["ended_at"] is None

    async def test_a_promote_writes_the_arm_into_the_assistant_and_a_revert_undoes_it(
        self, api: Api
    ) -> None:
        model = await api.model()
        assistant = await api.assistant(instructions="Be brief.")
        name = model["provider_model_name"]
        made = await start(
            api,
            assistant["id"],
            CONTROL,
            {"name": "bold", "share": 50, "instructions": "Be bold.", "model": name},
        )
        bold = made["variants"][1]["id"]
        elsewhere = await api.http.post(
            f"{PATH}{made['id']}/promote", headers=api.admin, json={"variant_id": str(uuid.uuid4())}
        )
        assert assert_error(elsewhere, 422)["fields"][0]["field"] == "variant_id"
        promoted = await api.ok(
            "POST", f"{PATH}{made['id']}/promote", api.admin, json={"variant_id": bold}
        )
        assert promoted["status"] == "promoted" and promoted["winner_variant_id"] == bold
        path = f"/api/assistants/{assistant['id']}"
        now = await api.ok("GET", path, api.admin)
        assert (now["instructions"], now["model"]) == ("Be bold.", name)
        history = await changes(api, assistant["id"])
        assert [c["action"] for c in history] == ["updated", "created"]
        assert history[0]["before"]["instructions"] == "Be brief."
        await revert(api, history[-1])  # the assistant as it was before the promote
        back = await api.ok("GET", path, api.admin)
        assert (back["instructions"], back["model"]) == ("Be brief.", None)
        assert (await changes(api, made["id"]))[0]["after"]["status"] == "promoted"

    async def test_a_running_experiment_is_not_deleted_a_finished_one_is(self, api: Api) -> None:
        made = await start(api, (await api.assistant())["id"])
        response = await api.http.delete(f"{PATH}{made['id']}", headers=api.admin)
        assert_error(response, 409)
        await api.ok("POST", f"{PATH}{made['id']}/stop", api.admin)
        response = await api.http.delete(f"{PATH}{made['id']}", headers=api.admin)
        assert response.status_code == 204
        assert_error(await api.http.get(f"{PATH}{made['id']}", headers=api.admin), 404)


class TestAssignmentsAndResults:
    async def test_the_first_answer_assigns_the_person_and_later_ones_do_not_move_them(
        self, api: Api
    ) -> None:
        assistant = await api.assistant()
        made = await start(api, assistant["id"])
        control, terse = (v["id"] for v in made["variants"])
        ann = await api.user()
        thread = (await api.thread(ann["id"], assistant["id"]))["thread_id"]
        await answer(api, thread, ann["id"], terse, tokens_in=10, tokens_out=5)
        await answer(api, thread, ann["id"], control, tokens_in=10, tokens_out=5)
        results = await api.ok("GET", f"{PATH}{made['id']}/results", api.admin)
        assert [v["people"] for v in results["variants"]] == [0, 1]
        stored = await api.ok("GET", f"/api/threads/{thread}/messages", api.service)
        assert [m["experiment_variant_id"] for m in stored] == [terse, control]

    async def test_an_arm_that_no_longer_exists_is_not_kept(self, api: Api) -> None:
        ann = await api.user()
        thread = (await api.thread(ann["id"]))["thread_id"]
        await answer(api, thread, ann["id"], str(uuid.uuid4()))
        (stored,) = await api.ok("GET", f"/api/threads/{thread}/messages", api.service)
        assert stored["experiment_variant_id"] is None

    async def test_the_figures_per_arm(self, api: Api) -> None:
        model = await api.model(input_price=1.0, output_price=2.0)
        name = model["provider_model_name"]
        assistant = await api.assistant()
        made = await start(api, assistant["id"])
        control, terse = (v["id"] for v in made["variants"])
        for arm, latencies in ((control, [100, 300]), (terse, [50])):
            user = await api.user()
            thread = (await api.thread(user["id"], assistant["id"]))["thread_id"]
            for n, latency in enumerate(latencies):
                key = await answer(
                    api, thread, user["id"], arm, model=name, tokens_in=1000,
                    tokens_out=500, latency_ms=latency,
                )  # fmt: skip
                await rate(api, key, user["id"], assistant["id"], -1 if n else 1)
            if arm == terse:
                body = {"user_id": user["id"], "assistant_id": assistant["id"],
                        "conversation_key": user["id"]}  # fmt: skip
                await api.ok("POST", "/api/leads/interest", api.service, json=body)
        results = await api.ok("GET", f"{PATH}{made['id']}/results", api.admin)
        first, second = results["variants"]
        assert (first["completions"], first["conversations"], first["leads"]) == (2, 1, 0)
        assert (second["completions"], second["conversations"], second["leads"]) == (1, 1, 1)
        assert first["latency_ms"]["value"] == 200 and first["latency_ms"]["n"] == 2
        assert first["latency_ms"]["low"] < 200 < first["latency_ms"]["high"]
        assert first["cost"] == 2 * (1000 * 1.0 + 500 * 2.0) / 1e6
        assert second["converted"]["value"] == 1.0 and second["converted"]["low"] is not None
        assert second["leads_per_conversation"]["value"] == 1.0
        assert (first["thumbs_up"]["value"], first["thumbs_up"]["n"]) == (0.5, 2)
        assert (second["thumbs_up"]["value"], second["thumbs_up"]["n"]) == (1.0, 1)
        assert first["thumbs_up"]["low"] < 0.5 < first["thumbs_up"]["high"]
        totals = results["totals"]
        assert (totals["completions"], totals["leads"], totals["people"]) == (3, 1, 2)
        assert totals["latency_ms"]["value"] == 150
        assert totals["thumbs_up"]["n"] == 3 and abs(totals["thumbs_up"]["value"] - 2 / 3) < 1e-9


@settings(
    max_examples=examples(6),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),  # the arm
            st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=3),
            st.booleans(),  # a lead
        ),
        max_size=6,
    )
)
async def test_the_totals_are_the_sum_of_the_arms(
    api: Api, people: list[tuple[int, list[int], bool]]
) -> None:
    model = await api.model(input_price=0.5, output_price=1.5)
    assistant = await api.assistant()
    made = await start(
        api,
        assistant["id"],
        {**CONTROL, "share": 40},
        {"name": "b", "share": 30, "instructions": "B"},
        {"name": "c", "share": 30, "model": model["provider_model_name"]},
    )
    arms = [v["id"] for v in made["variants"]]
    for arm, tokens, lead in people:
        user = await api.user()
        thread = (await api.thread(user["id"], assistant["id"]))["thread_id"]
        for n in tokens:
            key = await answer(
                api, thread, user["id"], arms[arm], model=model["provider_model_name"],
                tokens_in=n, tokens_out=n // 2, latency_ms=n,
            )  # fmt: skip
            await rate(api, key, user["id"], assistant["id"], 1 if n % 2 else -1)
        if lead:
            body = {"user_id": user["id"], "assistant_id": assistant["id"],
                    "conversation_key": user["id"]}  # fmt: skip
            await api.ok("POST", "/api/leads/interest", api.service, json=body)
    results = await api.ok("GET", f"{PATH}{made['id']}/results", api.admin)
    totals, variants = results["totals"], results["variants"]
    for key in ("people", "conversations", "completions", "leads", "tokens_in", "tokens_out"):
        assert totals[key] == sum(v[key] for v in variants), key
    assert abs(totals["cost"] - sum(v["cost"] for v in variants)) < 1e-9
    assert totals["people"] == len(people)
    assert totals["completions"] == sum(len(t) for _, t, _ in people)
    assert totals["leads"] == sum(lead for _, _, lead in people)

    def ups(figures: dict[str, Any]) -> int:
        return round((figures["thumbs_up"]["value"] or 0) * figures["thumbs_up"]["n"])

    assert totals["thumbs_up"]["n"] == sum(v["thumbs_up"]["n"] for v in variants)
    assert ups(totals) == sum(ups(v) for v in variants)
    assert ups(totals) == sum(n % 2 for _, tokens, _ in people for n in tokens)
    for i, variant in enumerate(variants):
        mine = [p for p in people if p[0] == i]
        assert variant["people"] == len(mine)
        assert variant["tokens_in"] == sum(sum(t) for _, t, _ in mine)
