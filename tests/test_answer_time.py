"""The answer time end to end through Telegram, every service a real process: a message's
answer is timed by tg_bot from the update to the answer delivered, the model's time (the
stand-in's delay) left out of the time the SLO reads, and each queue's entries are timed
from their add to their first take."""

from __future__ import annotations

import pytest

from tests.metrics_text import scraped
from tests.system import Person, System
from tests.waiting import until

pytestmark = pytest.mark.e2e

ANSWER = "smart_assistant_answer"
WAIT = "smart_assistant_queue_wait_seconds_count"


def figures(system: System) -> dict[str, float]:
    tg_bot, assistant = system.stack.url("tg_bot"), system.stack.url("assistant")
    return {
        "answers": scraped(tg_bot, f"{ANSWER}_seconds_count", channel="telegram"),
        "took": scraped(tg_bot, f"{ANSWER}_seconds_sum", channel="telegram"),
        "without_model": scraped(tg_bot, f"{ANSWER}_without_model_seconds_sum", channel="telegram"),
        "to_secretary": scraped(assistant, WAIT, stream="queue:to_secretary"),
        "to_telegram": scraped(tg_bot, WAIT, stream="queue:to_telegram"),
    }


async def test_a_telegram_answer_is_timed_end_to_end_without_the_model(
    whole_system: System,
) -> None:
    system = whole_system  # this module's own: no other test scripts its model
    before = figures(system)
    system.llm.reply("Timed for you.", delay=0.5)

    answer = await system.say(Person.new("Xena"), "how long does this take?")

    assert answer.text == "Timed for you."

    def timed() -> dict[str, float] | None:  # observed once Telegram accepted the answer
        now = figures(system)
        return now if now["answers"] > before["answers"] else None

    after = await until(timed, 10, "the answer timed")
    assert after["answers"] == before["answers"] + 1
    took = after["took"] - before["took"]
    without_model = after["without_model"] - before["without_model"]
    assert took >= 0.5 and 0 <= without_model <= took - 0.5
    assert after["to_secretary"] >= before["to_secretary"] + 1
    assert after["to_telegram"] >= before["to_telegram"] + 1
