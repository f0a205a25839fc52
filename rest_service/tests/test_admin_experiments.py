"""The admin's Experiments page through its own HTTP forms: an experiment started with its
arms, its results table with intervals, Promote writing the arm into the assistant (in the
change history), Stop, and a refused form naming the field."""

from __future__ import annotations

import httpx

from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)

PAGE = "/admin/experiments"
START = "/admin/experiments-start"


def form(assistant_id: str, name: str, **extra: str) -> dict[str, str]:
    return {
        "assistant_id": assistant_id,
        "name": name,
        "variant-0-name": "control",
        "variant-0-share": "60",
        "variant-1-name": "friendly",
        "variant-1-share": "40",
        "variant-1-instructions": "Be warm.",
        **extra,
    }


async def test_start_see_results_and_promote(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    shop = await api.assistant(instructions="Be brief.")
    listing = await logged_in.get(PAGE)
    assert listing.status_code == 200 and shop["name"] in listing.text
    started = await logged_in.post(
        START, data=form(shop["id"], "warmth"), headers=ORIGIN, follow_redirects=True
    )
    assert started.status_code == 200, started.text
    assert 'id="experiment-results"' in started.text and "friendly" in started.text
    assert "Total" in started.text and "95% intervals" in started.text
    (made,) = await api.ok("GET", f"/api/experiments/?assistant_id={shop['id']}", api.admin)
    assert [v["share"] for v in made["variants"]] == [60, 40]
    assert "warmth" in (await logged_in.get(PAGE)).text
    friendly = made["variants"][1]["id"]
    ann = await api.user()
    thread = (await api.thread(ann["id"], shop["id"]))["thread_id"]
    for latency in (120, 180):
        await api.say(
            thread, "hi", role="assistant", user_id=ann["id"], experiment_variant_id=friendly,
            tokens_in=100, tokens_out=20, latency_ms=latency,
        )  # fmt: skip
    shown = await logged_in.get(f"{PAGE}/{made['id']}")
    assert "150" in shown.text and "[" in shown.text and "n=2" in shown.text
    promoted = await logged_in.post(
        f"{PAGE}/{made['id']}/promote",
        data={"variant_id": friendly},
        headers=ORIGIN,
        follow_redirects=True,
    )
    assert promoted.status_code == 200 and 'id="experiment-done"' in promoted.text
    assert (await api.ok("GET", f"/api/assistants/{shop['id']}", api.admin))[
        "instructions"
    ] == "Be warm."
    history = await api.ok("GET", f"/api/config/changes?entity_id={shop['id']}", api.admin)
    assert history[0]["after"]["instructions"] == "Be warm."
    assert history[0]["actor"] != "service-token"  # the admin who pressed Promote
    again = await logged_in.post(f"{PAGE}/{made['id']}/stop", headers=ORIGIN, follow_redirects=True)
    assert 'id="experiment-error"' in again.text and "not running" in again.text


async def test_stop_and_a_refused_form(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    shop = await api.assistant()
    refused = await logged_in.post(
        START, data=form(shop["id"], "x", **{"variant-1-share": "10"}), headers=ORIGIN
    )
    assert refused.status_code == 400 and "<code>variants</code>" in refused.text
    await logged_in.post(START, data=form(shop["id"], "stoppable"), headers=ORIGIN)
    (made,) = await api.ok("GET", f"/api/experiments/?assistant_id={shop['id']}", api.admin)
    stopped = await logged_in.post(
        f"{PAGE}/{made['id']}/stop", headers=ORIGIN, follow_redirects=True
    )
    assert stopped.status_code == 200 and "stopped" in stopped.text
    assert (await api.ok("GET", f"/api/experiments/{made['id']}", api.admin))["status"] == (
        "stopped"
    )
    missing = await logged_in.get(f"{PAGE}/not-an-id")
    assert missing.status_code == 404
