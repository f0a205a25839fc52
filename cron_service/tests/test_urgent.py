"""Urgent reminders through the running service: a fire repeats every minute until Done, or
until `max_repeats`; a restart in between neither loses nor doubles a repeat, nor do two
replicas. The service's clock runs 20 times as fast (CRON_TEST_CLOCK_RATE), so a minute
between repeats passes in 3 s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.features.buttons import ButtonAction, decode, fired_choice
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus
from cron_service.tests.conftest import Outbox, job_when, later_fire, start_cron
from ops.processes import Stack
from tests.reminders import MakeReminder
from tests.waiting import until

DUE = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
FAST = {
    "CRON_TEST_CLOCK_RATE": "20",
    "CRON_TEST_CLOCK_START": (DUE - timedelta(seconds=2)).isoformat(),
}
MINUTE = timedelta(minutes=1)


async def sent_for(outbox: Outbox, job_id: str, count: int) -> list[str]:
    async def enough() -> list[str]:
        texts = [s.message.text for s in await outbox.for_job(job_id)]
        return texts if len(texts) >= count else []

    return await until(enough, 30, f"{count} fires of the urgent reminder")


async def test_an_urgent_reminder_repeats_across_a_restart_until_done(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    job = await make_reminder(
        "take the pills", run_at=DUE, urgent=True, repeat_every_minutes=1, max_repeats=5
    )
    cron = start_cron(stack, **FAST)
    await sent_for(outbox, str(job.id), 2)
    await job_when(rest, job.id, lambda j: j.repeats_sent == 1)
    cron.stop()

    # Back on a clock at the first fire again: what went out is not sent twice.
    stack.restart("cron_service")
    await sent_for(outbox, str(job.id), 3)
    await rest.mark_cron_job_done(job.id, DUE)
    await later_fire(rest, outbox, run_at=DUE + 4 * MINUTE)

    sent = await outbox.for_job(str(job.id))
    texts = [s.message.text for s in sent]
    assert texts[0].startswith("🚨 Urgent: take the pills")
    for each in sent:  # Done under every fire, for that occurrence
        done = decode(each.message.buttons[-1][0].data)
        assert done is not None and done.action == ButtonAction.DONE
        assert fired_choice(done.option) == ("", DUE)
    assert texts[1:] == [f"🚨 Urgent, repeat {n} of 5: take the pills" for n in (1, 2)]
    stopped = await rest.get_cron_job(job.id)
    assert (stopped.status, stopped.acknowledged_for, stopped.repeats_sent) == (
        CronJobStatus.done,
        DUE,
        2,
    )


async def test_two_replicas_repeat_an_urgent_reminder_up_to_max_repeats_once_each(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    job = await make_reminder(
        "call the plumber", run_at=DUE, urgent=True, repeat_every_minutes=1, max_repeats=2
    )
    start_cron(stack, **FAST)
    start_cron(stack, name="cron_b", **FAST)
    await later_fire(rest, outbox, run_at=DUE + 4 * MINUTE)

    sent = await outbox.for_job(str(job.id))
    assert len(sent) == 3, "the fire and its two repeats, each once"
    assert len({s.message.message_id for s in sent}) == 3
    ended = await job_when(rest, job.id, lambda j: j.status == CronJobStatus.done)
    assert (ended.status, ended.repeats_sent, ended.acknowledged_for) == (
        CronJobStatus.done,
        2,
        None,
    )
