"""A live experiment through the running assistant and the LLM stand-in: a person whose hash
lands in the variant arm is answered with the variant's prompt and model, turn after turn,
while a person in the control arm gets the secretary as configured; the answers are marked
with their arm and the results count each person once. Started and stopped without a
restart: the assistant reads the experiment from the live config."""

from __future__ import annotations

import uuid
from typing import Any

from assistant.tests.support import Deployment
from common.infrastructure.wire import SnapshotExperiment, TelegramUser


async def people_in_each_arm(
    deployment: Deployment, experiment: SnapshotExperiment
) -> dict[str, TelegramUser]:
    """A new person for each arm (a 50/50 split: a handful of tries)."""
    found: dict[str, TelegramUser] = {}
    while len(found) < len(experiment.variants):
        person = await deployment.user(f"P{len(found)}")
        found.setdefault(experiment.variant_for(person.id).name, person)
    return found


def asked_by(deployment: Deployment, text: str) -> list[Any]:
    """The model requests of the turns whose message was `text`."""
    return [r for r in deployment.llm.requests if (r.last("user") or {}).get("content") == text]


async def test_a_person_in_the_variant_arm_keeps_its_prompt_and_model(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    marker = f"VARIANT-{uuid.uuid4().hex[:8]}"
    variant_model = deployment.config.fallback
    body = {
        "assistant_id": secretary,
        "name": f"exp {marker}",
        "variants": [
            {"name": "control", "share": 50, "is_control": True},
            {"name": "variant", "share": 50, "instructions": marker, "model": variant_model},
        ],
    }
    made = await deployment.admin.post_json("/api/experiments/", body)
    try:
        await deployment.platform.config_seen(deployment.rest)
        config = await deployment.rest.get_config()
        (experiment,) = [e for e in config.experiments if str(e.id) == made["id"]]
        people = await people_in_each_arm(deployment, experiment)
        for turn in range(2):
            for arm, person in people.items():
                await deployment.ask(person, f"{arm} turn {turn}")

        for turn in range(2):
            (variant,) = asked_by(deployment, f"variant turn {turn}")
            assert marker in variant.system_text and variant.model == variant_model
            (control,) = asked_by(deployment, f"control turn {turn}")
            assert marker not in control.system_text and control.model != variant_model
        arms = {v.name: v.id for v in experiment.variants}
        for arm, person in people.items():
            stored = await deployment.thread_messages(str(person.id))
            answers = [m for m in stored if m.role == "assistant"]
            assert len(answers) == 2
            assert {m.experiment_variant_id for m in answers} == {arms[arm]}
        results = await deployment.admin.get_json(f"/api/experiments/{made['id']}/results")
        assert [(v["name"], v["people"], v["completions"]) for v in results["variants"]] == [
            ("control", 1, 2),
            ("variant", 1, 2),
        ]
    finally:
        await deployment.admin.post_json(f"/api/experiments/{made['id']}/stop")
        await deployment.admin.delete(f"/api/experiments/{made['id']}")
        await deployment.platform.config_seen(deployment.rest)
