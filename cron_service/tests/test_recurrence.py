"""Recurring reminders fire at their local time on the right days, through the running
service: its clock starts at a chosen moment (CRON_TEST_CLOCK_START), a few seconds before
an occurrence, and a restart moves it to the next day."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from common.infrastructure.rest_client import RestClient
from cron_service.tests.conftest import Outbox, job_when, later_reminder, runs_of, start_cron
from ops.processes import Stack
from tests.reminders import MakeReminder
from tests.waiting import until

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc, arg-type]  # year, month, day, ... as positional parts


async def test_daily_reminder_fires_at_nine_local_on_both_sides_of_a_dst_change(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    """Europe/Berlin moves from CET to CEST on Sunday 28 March 2027."""
    job = await make_reminder("standup", cron_expression="0 9 * * *", timezone="Europe/Berlin")
    await rest.update_cron_job(
        job.id, last_run_at=berlin(2027, 3, 26, 9), next_run_at=berlin(2027, 3, 27, 9)
    )

    cron = start_cron(stack, CRON_TEST_CLOCK_START=berlin(2027, 3, 27, 8, 59, 57).isoformat())
    await outbox.wait_for(1)
    saturday = await job_when(
        rest,
        job.id,
        lambda j: j.last_run_at is not None and "2027-03-27" in j.last_run_at.isoformat(),
    )
    assert saturday.next_run_at == berlin(2027, 3, 28, 9)
    cron.stop()
    # Another user's reminder a second after Sunday's: once it fired, any second fire of the
    # standup would have gone first.
    later = await later_reminder(rest, run_at=berlin(2027, 3, 28, 9, 0, 1))

    cron.env["CRON_TEST_CLOCK_START"] = berlin(2027, 3, 28, 8, 59, 57).isoformat()
    stack.restart("cron_service")
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")

    runs = sorted(r.scheduled_for for r in await runs_of(rest, job.id, 2))
    assert [r.astimezone(BERLIN).strftime("%a %d %H:%M %Z") for r in runs] == [
        "Sat 27 09:00 CET",
        "Sun 28 09:00 CEST",
    ]
    assert [r.astimezone(UTC).hour for r in runs] == [8, 7]
    sent = [s.message.text for s in await outbox.all() if s.message.correlation_id != later]
    assert sent == ["⏰ standup", "⏰ standup"]


async def test_every_monday_at_nine_fires_on_monday(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    job = await make_reminder(
        "weekly report", cron_expression="0 9 * * 1", timezone="Europe/Berlin"
    )
    await rest.update_cron_job(
        job.id, last_run_at=berlin(2027, 3, 22, 9), next_run_at=berlin(2027, 3, 29, 9)
    )

    start_cron(stack, CRON_TEST_CLOCK_START=berlin(2027, 3, 29, 8, 59, 57).isoformat())
    await outbox.wait_for(1)
    [run] = await runs_of(rest, job.id)
    monday = run.scheduled_for.astimezone(BERLIN)
    assert monday.strftime("%A %H:%M") == "Monday 09:00"
    after = await job_when(
        rest, job.id, lambda j: "2027-03-29" in (j.last_run_at.isoformat() if j.last_run_at else "")
    )
    assert after.next_run_at is not None
    next_run = after.next_run_at.astimezone(BERLIN)
    assert next_run.strftime("%A %d %B %H:%M") == "Monday 05 April 09:00"
    assert [s.message.text for s in await outbox.all()] == ["⏰ weekly report"]


async def test_every_other_sunday_fires_once_where_a_spring_gap_ends_and_keeps_its_weeks(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    """A recurrence rule (what a cron line cannot hold) fires by the same DST rules: 02:30 on
    Sunday 28 March 2027 does not exist in Berlin (02:00 jumps to 03:00), so the fire is at
    03:00 CEST; the next is two weeks on, back at 02:30."""
    rule = "DTSTART:20270314T023000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=2;BYMINUTE=30"
    job = await make_reminder("plants", cron_expression=rule, timezone="Europe/Berlin")
    assert job.cron_expression == rule
    await rest.update_cron_job(
        job.id, last_run_at=berlin(2027, 3, 14, 2, 30), next_run_at=berlin(2027, 3, 28, 3)
    )
    stored = await rest.get_cron_job(job.id)
    assert stored.next_run_at == berlin(2027, 3, 28, 3)  # rest_service's own reading

    start_cron(stack, CRON_TEST_CLOCK_START=berlin(2027, 3, 28, 1, 59, 57).isoformat())
    await outbox.wait_for(1)
    [run] = await runs_of(rest, job.id)
    assert run.scheduled_for == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert run.scheduled_for.astimezone(BERLIN).strftime("%a %d %H:%M %Z") == "Sun 28 03:00 CEST"
    after = await job_when(
        rest, job.id, lambda j: j.last_run_at is not None and j.last_run_at == run.scheduled_for
    )
    assert after.next_run_at is not None
    assert after.next_run_at.astimezone(BERLIN).strftime("%a %d %B %H:%M %Z") == (
        "Sun 11 April 02:30 CEST"
    )
    assert [s.message.text for s in await outbox.all()] == ["⏰ plants"]


async def test_every_other_sunday_fires_once_in_an_hour_the_autumn_change_repeats(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    """On Sunday 31 October 2027 Berlin's clocks go back from 03:00 CEST to 02:00 CET, so
    02:30 happens twice: the rule fires at the first (00:30Z), not again an hour later."""
    rule = "DTSTART:20271017T023000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=2;BYMINUTE=30"
    job = await make_reminder("backup", cron_expression=rule, timezone="Europe/Berlin")
    first = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    await rest.update_cron_job(job.id, last_run_at=berlin(2027, 10, 17, 2, 30), next_run_at=first)
    cron = start_cron(
        stack, CRON_TEST_CLOCK_START=datetime(2027, 10, 31, 0, 29, 57, tzinfo=UTC).isoformat()
    )
    await outbox.wait_for(1)
    await job_when(rest, job.id, lambda j: j.last_run_at == first)
    cron.stop()
    # Another user's reminder a second after the repeated 02:30 (CET): once it fired, a
    # second fire of the backup would have gone first.
    later = await later_reminder(rest, run_at=datetime(2027, 10, 31, 1, 30, 1, tzinfo=UTC))
    cron.env["CRON_TEST_CLOCK_START"] = datetime(2027, 10, 31, 1, 29, 57, tzinfo=UTC).isoformat()
    stack.restart("cron_service")
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")

    [run] = await runs_of(rest, job.id)
    assert run.scheduled_for == first
    assert run.scheduled_for.astimezone(BERLIN).strftime("%a %d %H:%M %Z") == "Sun 31 02:30 CEST"
    after = await job_when(rest, job.id, lambda j: j.last_run_at == first)
    assert after.next_run_at is not None
    assert after.next_run_at.astimezone(BERLIN).strftime("%a %d %B %H:%M %Z") == (
        "Sun 14 November 02:30 CET"
    )
    sent = [s.message.text for s in await outbox.all() if s.message.correlation_id != later]
    assert sent == ["⏰ backup"]
