"""Which repeat of an urgent reminder comes next, and what each fire says, decided without
Redis or rest_service: every `repeat_every_minutes` after a fire until Done is pressed for
it, `max_repeats` at most, never into the next occurrence; a repeat missed while none could
go out is not made up, but the last always goes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.buttons import ButtonAction, decode, fired_choice
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.wire import RunOutcome
from cron_service.app.fires import Fire, compose
from cron_service.app.jobs import PlannedJob
from cron_service.tests.test_fires import NOW, RULES, job_data, planned

MINUTE = timedelta(minutes=1)


def urgent(**overrides: Any) -> PlannedJob:
    data = {"urgent": True, "repeat_every_minutes": 5, "max_repeats": 3}
    return planned(job_data(cron_expression=None, run_at=NOW.isoformat()) | data | overrides)


def test_an_urgent_fire_repeats_every_interval_up_to_max_repeats() -> None:
    job = urgent()
    chain = [NOW]
    while (nxt := job.following(chain[-1])) is not None:
        chain.append(nxt)
    assert chain == [NOW + n * 5 * MINUTE for n in range(4)]
    assert [job.occurrence_of(at) for at in chain] == [(NOW, n) for n in range(4)]


def test_a_fire_acknowledged_repeats_no_more() -> None:
    job = urgent(acknowledged_for=NOW.isoformat())
    assert job.following(NOW) is None
    assert job.following(NOW + 5 * MINUTE) is None


def test_a_missed_fire_is_not_repeated() -> None:
    assert urgent().following(NOW, repeat=False) is None


def test_repeats_passed_while_down_are_not_made_up_but_the_last_goes() -> None:
    job = urgent(max_repeats=6)
    assert job.following(NOW, NOW + 12 * MINUTE) == NOW + 10 * MINUTE
    assert job.following(NOW, NOW + 2 * 60 * MINUTE) == NOW + 30 * MINUTE
    assert job.following(NOW + 30 * MINUTE, NOW + 2 * 60 * MINUTE) is None


def test_a_restart_plans_the_repeat_after_the_recorded_ones() -> None:
    recorded = {"repeating_for": NOW.isoformat(), "repeats_sent": 1}
    assert urgent(**recorded).next_fire(NOW + 6 * MINUTE) == NOW + 10 * MINUTE
    done = recorded | {"acknowledged_for": NOW.isoformat()}
    assert urgent(**done).next_fire(NOW + 6 * MINUTE) == NOW, "only the one-off's own time"
    assert urgent(**recorded | {"repeats_sent": 3}).next_fire(NOW + 20 * MINUTE) == NOW


def test_a_one_off_moved_since_its_fire_repeats_that_fire_no_more() -> None:
    moved = urgent(run_at=(NOW + 60 * MINUTE).isoformat(), repeating_for=NOW.isoformat())
    assert moved.next_fire(NOW + 6 * MINUTE) == NOW + 60 * MINUTE


def test_repeats_of_a_recurring_reminder_stop_at_its_next_occurrence() -> None:
    job = planned(job_data(urgent=True, repeat_every_minutes=60 * 24 * 3, max_repeats=5))
    week = timedelta(days=7)
    assert job.following(NOW) == NOW + timedelta(days=3)
    assert job.following(NOW + timedelta(days=6)) == NOW + week
    recorded = job_data(urgent=True, repeat_every_minutes=60, repeating_for=NOW.isoformat())
    assert planned(recorded | {"last_run_at": NOW.isoformat()}).next_fire(NOW) == NOW + 60 * MINUTE


def test_a_briefing_never_repeats() -> None:
    job = planned(job_data(type="assistant_prompt", prompt="news", text=None, urgent=True))
    assert not job.repeats
    assert job.occurrence_of(NOW) == (NOW, 0)


def test_an_urgent_fire_says_so_and_its_done_names_the_occurrence() -> None:
    job = urgent()
    _, first, fire = compose(job, NOW, NOW, RULES)
    _, repeat, again = compose(job, NOW + 10 * MINUTE, NOW + 10 * MINUTE, RULES)
    assert isinstance(first, OutgoingMessage) and isinstance(repeat, OutgoingMessage)
    assert first.text.startswith("🚨 Urgent: call Anna")
    assert repeat.text == "🚨 Urgent, repeat 2 of 3: call Anna"
    for message in (first, repeat):
        [snooze, *_], [done] = [[decode(b.data) for b in row] for row in message.buttons]
        assert done is not None and done.action == ButtonAction.DONE
        assert snooze is not None and snooze.action == ButtonAction.SNOOZE
        assert fired_choice(done.option) == ("", NOW)
        assert fired_choice(snooze.option) == ("10m", NOW)
    assert (fire.occurrence, fire.repeat, again.repeat) == (NOW, 0, 2)
    assert Fire.from_json(again.to_json()) == again


def test_a_missed_urgent_fire_says_missed() -> None:
    _, message, fire = compose(urgent(), NOW, NOW + timedelta(hours=7), RULES)
    assert fire.outcome == RunOutcome.missed
    assert isinstance(message, OutgoingMessage) and message.text.startswith("Missed reminder")


@settings(max_examples=60, deadline=None)
@given(
    every=st.integers(1, 1440),
    most=st.integers(1, 50),
    late_by=st.integers(0, 60 * 24 * 60),
)
def test_repeats_keep_their_bounds(every: int, most: int, late_by: int) -> None:
    """However late a fire goes out, the next is a later repeat of the same occurrence
    within `max_repeats`, or nothing."""
    job = urgent(repeat_every_minutes=every, max_repeats=most)
    fired = NOW + every * MINUTE
    nxt = job.following(fired, fired + late_by * MINUTE)
    if nxt is not None:
        occurrence, number = job.occurrence_of(nxt)
        assert occurrence == NOW and 2 <= number <= most
    assert fired_choice("") == ("", None) and fired_choice("10m.x1") == ("10m", None)
