"""What a fire is and says, decided without Redis or rest_service: which occurrence is due,
on time / late / missed, the "(late)" mark, the message that goes out and its derived id."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.features.schedule import InvalidSchedule
from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    Source,
    fire_message_id,
)
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM
from common.infrastructure.wire import CronJob, RunOutcome
from cron_service.app.fires import Fire, FireRules, classify, compose
from cron_service.app.jobs import PlannedJob, plan

RULES = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin


def job_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "reminder",
        "type": "reminder",
        "user_id": str(uuid.uuid4()),
        "chat_id": 4242,
        "text": "call Anna",
        "prompt": None,
        "run_at": None,
        "cron_expression": "0 9 * * 1",
        "timezone": "Europe/Berlin",
        "timezone_assumed": False,
        "status": "active",
        "last_run_at": None,
        "next_run_at": None,
        "idempotency_key": None,
        "created_at": "2026-02-01T10:00:00+00:00",
        "updated_at": "2026-02-01T10:00:00+00:00",
    }
    return data | overrides


def planned(data: dict[str, Any]) -> PlannedJob:
    return plan(CronJob.model_validate(data), "UTC")


@pytest.mark.parametrize(
    ("lateness", "outcome"),
    [
        (0, RunOutcome.on_time),
        (60, RunOutcome.on_time),
        (61, RunOutcome.late),
        (6 * 3600 + 1, "missed"),
    ],
)
def test_classify(lateness: int, outcome: str) -> None:
    assert classify(timedelta(seconds=lateness), RULES.late_after, RULES.grace) == outcome


def test_recurring_job_plans_its_next_occurrence() -> None:
    job = planned(job_data(last_run_at="2026-02-23T08:00:00+00:00"))
    assert job.next_fire(NOW - timedelta(minutes=1)) == NOW
    assert job.next_fire(NOW) == NOW, "due now and not yet run"
    ran = planned(job_data(last_run_at=NOW.isoformat()))
    assert ran.next_fire(NOW) == NOW + timedelta(days=7)


def test_an_occurrence_missed_while_down_is_planned_at_once() -> None:
    job = planned(job_data(last_run_at="2026-02-23T08:00:00+00:00"))
    assert job.next_fire(NOW + timedelta(hours=2)) == NOW


def test_a_job_changed_after_its_occurrence_does_not_catch_up() -> None:
    """Created, edited or resumed at 10:00: the 09:00 of that day is not owed."""
    job = planned(job_data(updated_at="2026-03-02T09:00:00+00:00"))
    assert job.next_fire(NOW + timedelta(hours=2)) == NOW + timedelta(days=7)


def test_one_off_fires_at_run_at_however_late() -> None:
    job = planned(job_data(cron_expression=None, run_at="2026-03-02T08:00:00Z"))
    assert job.one_off
    assert job.next_fire(NOW + timedelta(days=3)) == NOW
    assert job.following(NOW) is None


def test_reminder_on_time() -> None:
    job = planned(job_data())
    stream, message, fire = compose(job, NOW, NOW + timedelta(seconds=1), RULES)
    assert stream == TO_TELEGRAM
    assert isinstance(message, OutgoingMessage)
    assert message.kind == OutgoingKind.NOTIFICATION
    assert message.text == "⏰ call Anna"
    assert message.message_id == fire_message_id(job.id, NOW)
    assert fire.outcome == RunOutcome.on_time
    assert job.following(NOW) == NOW + timedelta(days=7)
    assert fire.sent_text == message.text


def test_late_reminder_is_marked_late_with_its_local_due_time() -> None:
    job = planned(job_data())
    _, message, fire = compose(job, NOW, NOW + timedelta(minutes=30), RULES)
    assert fire.outcome == RunOutcome.late
    assert message.text == "⏰ (late) call Anna\n(it was due at 09:00)"


def test_missed_reminder_tells_the_user_briefly_in_their_language() -> None:
    job = planned(job_data(text="позвонить Анне"))
    _, message, fire = compose(job, NOW, NOW + timedelta(days=1), RULES)
    assert fire.outcome == RunOutcome.missed
    assert message.text == "Пропущенное напоминание (на 02.03 09:00): позвонить Анне"


def test_assistant_prompt_goes_to_the_secretary_as_the_user() -> None:
    data = job_data(type="assistant_prompt", text=None, prompt="today's calendar and weather")
    job = planned(data)
    stream, message, fire = compose(job, NOW, NOW, RULES)
    assert stream == TO_SECRETARY
    assert isinstance(message, IncomingMessage)
    assert message.source == Source.CRON
    assert str(message.user_id) == data["user_id"]
    assert message.text == (
        "Scheduled briefing the user set up: today's calendar and weather\n"
        "Answer with fresh data from your tools, in one short message. With a mail tool, "
        "add the mail that matters today (its search) in a few lines."
    )
    assert fire.sent_text is None


def test_a_russian_briefing_is_framed_in_russian() -> None:
    data = job_data(type="assistant_prompt", text=None, prompt="мои дела на сегодня и погода")
    _, message, _ = compose(planned(data), NOW, NOW, RULES)
    assert isinstance(message, IncomingMessage)
    assert message.text.startswith("Сводка по расписанию, которую настроил пользователь: мои")
    assert "одним коротким сообщением" in message.text


def test_fire_survives_its_json() -> None:
    job = planned(job_data())
    _, _, fire = compose(job, NOW, NOW, RULES)
    assert Fire.from_json(fire.to_json()) == fire


def test_a_fire_that_could_not_be_read_back_is_refused_before_it_is_stored() -> None:
    """Only what `from_json` reads back goes into the ledger: a field of another type (a UUID
    where its text belongs) fails when written, not when a sweep reads it later."""
    _, _, fire = compose(planned(job_data()), NOW, NOW, RULES)
    odd = dataclasses.replace(fire, user_id=uuid.uuid4())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot encode UUID"):
        odd.to_json()


def test_a_fire_left_unrecorded_by_the_previous_version_still_loads() -> None:
    """It wrote `next_run_at` into the ledger; rest_service computes that now."""
    job = planned(job_data())
    _, _, fire = compose(job, NOW, NOW, RULES)
    old = json.loads(fire.to_json()) | {"next_run_at": (NOW + timedelta(days=7)).isoformat()}
    assert Fire.from_json(json.dumps(old)) == fire


@pytest.mark.parametrize(
    "overrides",
    [
        {"cron_expression": "0 9 * *"},
        {"cron_expression": None, "run_at": None},
        {"timezone": "Nowhere/Land"},
        {"text": "  "},
        {"type": "assistant_prompt", "prompt": "brief", "user_id": None},
    ],
)
def test_unschedulable_jobs_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidSchedule):
        planned(job_data(**overrides))


def test_a_briefing_that_lost_its_user_is_not_sent_as_nobody() -> None:
    """`plan` refuses such a job; a planned one composed without its user is refused too,
    rather than sent to the secretary on nobody's behalf."""
    job = planned(job_data(type="assistant_prompt", text=None, prompt="brief"))
    orphan = dataclasses.replace(job, job=job.job.model_copy(update={"user_id": None}))
    with pytest.raises(ValueError, match="needs a user_id"):
        compose(orphan, NOW, NOW, RULES)


def test_a_job_made_with_a_bot_fires_through_that_bot() -> None:
    """Its reminder goes out as the bot, its briefing is answered by the bot's assistant
    (decision 0048); a job of the default bot carries none."""
    bot_id = uuid.uuid4()
    _, reminder, _ = compose(planned(job_data(bot_id=str(bot_id))), NOW, NOW, RULES)
    data = job_data(type="assistant_prompt", text=None, prompt="news", bot_id=str(bot_id))
    _, briefing, _ = compose(planned(data), NOW, NOW, RULES)
    _, default, _ = compose(planned(job_data()), NOW, NOW, RULES)
    assert (reminder.bot_id, briefing.bot_id, default.bot_id) == (bot_id, bot_id, None)


def test_a_reminder_made_in_another_channel_fires_there() -> None:
    job = planned(job_data(channel="whatsapp", channel_chat_id="4915112345678"))
    stream, message, fire = compose(job, NOW, NOW, RULES)
    assert stream == "queue:to_channels"
    assert isinstance(message, OutgoingMessage)
    assert (message.channel, message.channel_chat_id) == ("whatsapp", "4915112345678")
    assert fire.stream == "queue:to_channels"
    assert Fire.from_json(fire.to_json()) == fire


def test_a_briefing_made_in_another_channel_is_answered_there() -> None:
    data = job_data(type="assistant_prompt", text=None, prompt="my day")
    job = planned(data | {"channel": "slack", "channel_chat_id": "D024BE91L"})
    stream, message, _ = compose(job, NOW, NOW, RULES)
    assert stream == TO_SECRETARY
    assert isinstance(message, IncomingMessage)
    assert (message.channel, message.channel_chat_id) == ("slack", "D024BE91L")
    assert message.reply_stream == "queue:to_channels"
    missed = compose(job, NOW - timedelta(days=1), NOW, RULES)
    assert missed[0] == "queue:to_channels", "a missed briefing is told where it was made"


def test_a_fire_kept_by_an_older_version_is_telegrams() -> None:
    _, _, fire = compose(planned(job_data()), NOW, NOW, RULES)
    old = {k: v for k, v in json.loads(fire.to_json()).items() if k != "channel"}
    assert Fire.from_json(json.dumps(old)).stream == TO_TELEGRAM
