"""Reminders arrive on time, once: the running service, real Redis, Postgres and rest_service."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import OutgoingKind, fire_message_id
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, CronJobStatus, TelegramUser
from cron_service.app.fires import FireLedger, FireRules, compose
from cron_service.app.jobs import plan
from cron_service.tests.conftest import (
    Outbox,
    job_when,
    later_fire,
    later_reminder,
    listening,
    runs_of,
    start_cron,
)
from ops.processes import Stack
from tests.reminders import MakeReminder, whole_second
from tests.tcp_proxy import TcpProxy
from tests.waiting import until

#: A killed instance stays among the live replicas, with its share, until its heartbeat runs
#: out (CRON_REPLICA_TTL, 10 s by default): the restarted one takes the share after that.
QUICK_TAKEOVER = {"CRON_REPLICA_HEARTBEAT": "0.5", "CRON_REPLICA_TTL": "2"}


async def test_one_off_reminder_fires_once_at_its_time(
    stack: Stack,
    rest: RestClient,
    user: TelegramUser,
    secretary: str,
    outbox: Outbox,
    make_reminder: MakeReminder,
) -> None:
    cron = start_cron(stack)
    job = await make_reminder("call Anna", due_in=2)
    due = job.run_at
    # Once it fired, a second fire of call Anna would have gone first.
    later = await later_reminder(rest, run_at=due + timedelta(seconds=1))

    sent = await outbox.wait_for(1)
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")
    assert [s.message.text for s in await outbox.to_chat(user.telegram_id)] == ["⏰ call Anna"]
    message = sent[0].message
    assert message.kind == OutgoingKind.NOTIFICATION
    assert message.chat_id == user.telegram_id
    assert message.message_id == fire_message_id(job.id, due)
    assert timedelta(0) <= sent[0].added_at - due < timedelta(seconds=1)

    [run] = await runs_of(rest, job.id)
    assert run.outcome == "on_time"
    assert run.scheduled_for == due
    assert run.message_id == str(message.message_id)
    done = await job_when(rest, job.id, lambda j: j.status == "done")
    assert done.status == "done"
    assert done.last_run_at == due

    thread = await rest.get_or_create_thread(str(user.id), secretary)
    contents = [m.content for m in await rest.list_messages(thread.thread_id)]
    assert contents == ["⏰ call Anna"], "the reminder is part of the conversation"

    async with httpx.AsyncClient(base_url=cron.url) as http:
        health = (await http.get("/health")).json()
        metrics = (await http.get("/metrics")).text
    assert health["checks"]["scheduler"]["running"] is True
    assert health["checks"]["scheduler"]["last_sync_at"]
    # this reminder's fire and the later one's
    assert 'smart_assistant_cron_fires_total{outcome="on_time",type="reminder"} 2.0' in metrics
    assert "smart_assistant_cron_fire_lateness_seconds_bucket" in metrics


async def test_reminders_added_edited_and_deleted_over_rest_are_picked_up_without_restart(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    make_reminder: MakeReminder,
) -> None:
    start_cron(stack, CRON_RESYNC_INTERVAL="3600")  # only cron:updated can tell it
    await listening(redis, names)
    added = await make_reminder("added", due_in=2)
    edited = await make_reminder("before the edit", due_in=30)
    deleted = await make_reminder("deleted", due_in=2)
    cancelled = await make_reminder("cancelled", due_in=2)
    new_time = added.run_at + timedelta(seconds=1)
    await rest.update_cron_job(edited.id, text="after the edit", run_at=new_time)
    await rest.delete_cron_job(deleted.id)
    await rest.update_cron_job(cancelled.id, status=CronJobStatus.cancelled)
    later = await later_reminder(rest, run_at=new_time + timedelta(seconds=1))

    await outbox.wait_for(2)
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")
    texts = sorted(s.message.text for s in await outbox.all() if s.message.text != "⏰ later")
    assert texts == ["⏰ added", "⏰ after the edit"]
    [sent] = await outbox.for_job(str(edited.id))
    assert sent.added_at >= new_time


async def test_a_reminder_snoozed_right_after_it_fired_fires_again_on_time(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    make_reminder: MakeReminder,
) -> None:
    """The snooze is a write to the job cron_service has just recorded: its `cron:updated`
    must not be taken for an echo of cron_service's own write and ignored."""
    start_cron(stack, CRON_RESYNC_INTERVAL="3600")  # only cron:updated can tell it
    await listening(redis, names)
    job = await make_reminder("stretch", due_in=1)
    await outbox.wait_for(1)
    await job_when(rest, job.id, lambda j: j.status == "done")

    again = whole_second(datetime.now(UTC) + timedelta(seconds=2))
    await rest.update_cron_job(job.id, run_at=again, status=CronJobStatus.active)
    sent = await outbox.wait_for(2, timeout=8)
    assert [s.message.text for s in sent] == ["⏰ stretch", "⏰ stretch"]
    assert timedelta(0) <= sent[1].added_at - again < timedelta(seconds=1)


async def test_a_lost_cron_updated_is_healed_by_the_resync(
    stack: Stack, redis: aioredis.Redis, make_reminder: MakeReminder
) -> None:
    """This cron_service listens under another prefix: it never hears rest_service."""
    deaf = stack.env["REDIS_KEY_PREFIX"] + "deaf:"
    start_cron(stack, CRON_RESYNC_INTERVAL="1", REDIS_KEY_PREFIX=deaf)
    outbox = Outbox(redis, Names(deaf))
    await listening(redis, Names(deaf))

    job = await make_reminder("heard by the resync", due_in=3)
    [sent] = await outbox.wait_for(1)
    assert sent.message.correlation_id == str(job.id)
    assert sent.added_at - job.run_at < timedelta(seconds=1)


async def test_sigkill_across_a_due_time_delivers_it_late_once_on_restart(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    cron = start_cron(stack, **QUICK_TAKEOVER)
    job = await make_reminder("water the plants", due_in=3)
    cron.kill()
    assert await outbox.all() == []

    # The due time passes while it is down: it comes back on a clock 4 s past it.
    back_at = job.run_at + timedelta(seconds=4)
    cron.env["CRON_TEST_CLOCK_START"] = back_at.isoformat()
    stack.restart("cron_service")
    sent = await outbox.wait_for(1)
    await later_fire(rest, outbox, run_at=whole_second(back_at + timedelta(seconds=2)))
    assert len(await outbox.for_job(str(job.id))) == 1
    assert sent[0].message.text.startswith("⏰ (late) water the plants")
    [run] = await runs_of(rest, job.id)
    assert run.outcome == "late"


async def test_beyond_the_grace_a_reminder_is_missed_and_the_user_told_once(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    cron = start_cron(stack, REMINDER_MISFIRE_GRACE="2", **QUICK_TAKEOVER)
    job = await make_reminder("pay the rent", due_in=3)
    cron.kill()

    # It comes back on a clock 4 s past the due time, beyond the grace.
    back_at = job.run_at + timedelta(seconds=4)
    cron.env["CRON_TEST_CLOCK_START"] = back_at.isoformat()
    cron.env["CRON_RESYNC_INTERVAL"] = "0.5"  # resyncs after the notice must not repeat it
    stack.restart("cron_service")
    await outbox.wait_for(1)
    # resyncs every 0.5 s came and went meanwhile
    await later_fire(rest, outbox, run_at=whole_second(back_at + timedelta(seconds=3)))
    [sent] = await outbox.for_job(str(job.id))
    assert sent.message.text.startswith("Missed reminder (due ")
    assert sent.message.text.endswith("): pay the rent")
    [run] = await runs_of(rest, job.id)
    assert run.outcome == "missed"
    assert run.delivered_at is None
    gone = await job_when(rest, job.id, lambda j: j.status == "missed")
    assert gone.status == "missed"


async def test_two_instances_deliver_each_reminder_exactly_once(
    stack: Stack, rest: RestClient, outbox: Outbox, make_reminder: MakeReminder
) -> None:
    await asyncio.gather(
        asyncio.to_thread(start_cron, stack, "cron_a"),
        asyncio.to_thread(start_cron, stack, "cron_b"),
    )
    jobs = [await make_reminder(f"reminder {n}", due_in=3) for n in range(20)]
    last_due = max(job.run_at for job in jobs)
    later = await later_reminder(rest, run_at=last_due + timedelta(seconds=1))

    await outbox.wait_for(20)
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")
    sent = [s for s in await outbox.all() if s.message.text != "⏰ later"]
    assert sorted(str(s.message.correlation_id) for s in sent) == sorted(str(j.id) for j in jobs)
    for job in jobs:
        assert len(await runs_of(rest, job.id)) == 1
    # Each plans its share; a fire both reached while they did not yet see each
    # other was sent by the one that claimed it first.
    published = 0
    for name in ("cron_a", "cron_b"):
        async with httpx.AsyncClient(base_url=stack[name].url) as http:
            text = (await http.get("/metrics")).text
        published += sum(
            int(float(line.split()[-1]))
            for line in text.splitlines()
            if line.startswith("smart_assistant_cron_fires_total{")
        )
    assert published == 21  # and the later one


async def test_a_crash_between_fire_and_record_neither_loses_nor_doubles_it(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    make_reminder: MakeReminder,
) -> None:
    """An instance claimed and published a fire, then died before recording it (done here
    with the service's own ledger). The next instance records it and sends nothing more."""
    job = await make_reminder("stretch", due_in=3)
    due = job.run_at
    ledger = FireLedger(redis, names, timedelta(days=1))
    rules = FireRules(late_after=timedelta(seconds=2), grace=timedelta(hours=6))
    stream, message, fire = compose(plan(job, "UTC"), due, due, rules)  # fired at its time
    assert await ledger.claim_and_publish(stream, message, fire)

    start_cron(stack, CRON_TEST_CLOCK_START=due.isoformat())  # the next one, right after
    [run] = await runs_of(rest, job.id)
    assert run.outcome == "on_time"
    assert run.message_id == str(message.message_id)
    done = await job_when(rest, job.id, lambda j: j.status == "done")
    assert done.status == "done"
    later = await later_fire(rest, outbox, run_at=due + timedelta(seconds=2))
    assert len(await outbox.for_job(str(job.id))) == 1
    assert [f.job_id for f in await ledger.unrecorded() if f.job_id != later] == []


async def test_a_stop_finishes_the_recordings_it_holds_and_takes_on_no_more(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    make_reminder: MakeReminder,
) -> None:
    """A fire left unrecorded (another replica's) after the stop began is left to the
    replicas that stay: the stopping one's sweep queued such fires and its stop waited for
    them until SHUTDOWN_GRACE_SECONDS ran out (made huge here: the stop ends all the same)."""
    held_job = await make_reminder("held", due_in=3600)
    left_job = await make_reminder("left", due_in=3600)
    url = urlsplit(stack.url("rest_service"))
    link = TcpProxy(url.hostname or "127.0.0.1", url.port or 80)
    await link.start()
    try:
        cron = start_cron(
            stack,
            REST_SERVICE_URL=f"http://127.0.0.1:{link.port}",
            SHUTDOWN_GRACE_SECONDS="3600",
            CRON_RECOVERY_INTERVAL="0.2",
            CRON_RECOVERY_MIN_AGE="0",
        )
        ledger = FireLedger(redis, names, timedelta(days=1))
        rules = FireRules(late_after=timedelta(seconds=2), grace=timedelta(hours=6))
        fired = whole_second(datetime.now(UTC)) - timedelta(minutes=2)

        async def publish(job: CronJob) -> None:
            assert await ledger.claim_and_publish(*compose(plan(job, "UTC"), fired, fired, rules))

        await until(lambda: '"synced"' in cron.logs(), 30, "the first sync")
        link.hold()
        await publish(held_job)  # the sweep finds it; its recording waits on the link
        await asyncio.wait_for(link.waiting.wait(), 20)
        assert cron.proc is not None
        cron.proc.send_signal(signal.SIGTERM)
        await until(lambda: '"stopping"' in cron.logs(), 30, "the stop begun")
        await publish(left_job)
        link.release()
        process = cron.proc
        await until(lambda: process.poll() is not None, 60, "cron_service ended")
        assert process.returncode == 0
    finally:
        await link.stop()
    assert len(await runs_of(rest, held_job.id)) == 1, "what it held was recorded"
    assert [fire.job_id for fire in await ledger.unrecorded()] == [str(left_job.id)]

    start_cron(stack, "cron_that_stays")

    async def all_recorded() -> bool:
        return await ledger.unrecorded() == []

    await until(all_recorded, 30, "the fire left recorded by the one that stays")
    assert len(await runs_of(rest, left_job.id)) == 1
