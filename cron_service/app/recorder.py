"""Writes what happened back to rest_service, after the fire is out.

For each published fire, side by side: a `cron_job_runs` row (one per job and scheduled
time, so a repeat is harmless), the job's last run (rest_service moves its next run from it;
a one-off becomes `done`, or `missed`), and a reminder the user was sent appended to their
conversation (by dedup key, once) so the secretary knows what "snooze it" refers to. Every
step is idempotent, so a fire whose recording was cut short (a crash, rest_service down) is
simply recorded again by the next sweep, by any instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from common.infrastructure.errors import AppError, NotFoundError
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, MessageRole, RunOutcome
from cron_service.app.clock import Clock
from cron_service.app.fires import Fire, FireLedger
from cron_service.app.metrics import PENDING_RECORDS, RECORDS

log = get_logger(__name__)

#: How long the secretary's id (whose thread a reminder joins) is trusted.
_SECRETARY_TTL_S = 300.0
#: How long one instance has a fire to itself to record it (a dead one's lease runs out).
_RECORDING_LEASE = timedelta(seconds=60)
#: Fires one sweep queues at most (a recorder records far fewer in a recovery interval).
SWEEP_LIMIT = 1000


class Recorder:
    """A bounded pool recording fires; fires it has not finished stay in the ledger."""

    def __init__(
        self, rest: RestClient, ledger: FireLedger, concurrency: int, clock: Clock | None = None
    ) -> None:
        self._rest = rest
        self._clock = clock or Clock()
        self._ledger = ledger
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Fire] = asyncio.Queue()
        #: Fires queued or being recorded by this process, so a sweep does not queue them twice.
        self._busy: set[str] = set()
        #: Cleared while fires are going out: recording waits, delivery comes first.
        self._open = asyncio.Event()
        self._open.set()
        self._holds = 0
        self._secretary: tuple[str | None, float] = (None, 0.0)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """While a burst of fires is being sent, no new recording starts (they share a CPU)."""
        self._holds += 1
        self._open.clear()
        try:
            yield
        finally:
            self._holds -= 1
            if self._holds == 0:
                self._open.set()

    @property
    def unfinished(self) -> int:
        """Fires queued or being recorded here."""
        return len(self._busy)

    def submit(self, fire: Fire) -> None:
        if fire.key in self._busy:
            return
        self._busy.add(fire.key)
        self._queue.put_nowait(fire)

    async def sweep(self, min_age: timedelta) -> int:
        """Queues the ledger's unrecorded fires older than `min_age`: those of a crashed or
        stopped instance, or ones whose recording failed; at most `SWEEP_LIMIT` at a time,
        none while a burst is going out or this recorder still has that many queued (a sweep
        reading a hash of 100 000 fires every interval took CPU from the burst, and queued
        far more than a recorder does by the next sweep). Returns how many."""
        PENDING_RECORDS.set(await self._ledger.count_unrecorded())
        if not self._open.is_set() or self._queue.qsize() >= SWEEP_LIMIT:
            return 0
        now = self._clock.now()
        found = 0
        async with contextlib.aclosing(self._ledger.iter_unrecorded()) as fires:
            async for fire in fires:
                if now - fire.published_at >= min_age and fire.key not in self._busy:
                    self.submit(fire)
                    found += 1
                    if found >= SWEEP_LIMIT:
                        break
        return found

    async def run(self) -> None:
        """Records queued fires until cancelled."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self._concurrency):
                group.create_task(self._work())

    async def drain(self, timeout: float) -> None:
        """Waits (up to `timeout`) for the queue to empty, at shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    async def _work(self) -> None:
        while True:
            fire = await self._queue.get()
            await self._open.wait()
            try:
                taken = await self._ledger.take_recording(fire, _RECORDING_LEASE)
                if taken and await self._ledger.is_unrecorded(fire):
                    with correlation(fire.message_id, job_id=fire.job_id):
                        await self._record(fire)
            except AppError as exc:  # rest_service down or refusing: the sweep tries again
                RECORDS.labels("failed").inc()
                log.warning("fire_record_failed", error=str(exc), error_type=type(exc).__name__)
            except Exception:  # whatever it was, the fire stays in the ledger for the sweep
                RECORDS.labels("failed").inc()
                log.exception("fire_record_crashed", job_id=fire.job_id)
            finally:
                self._busy.discard(fire.key)
                self._queue.task_done()

    async def _record(self, fire: Fire) -> None:
        """The run, the job and the conversation, side by side; then the ledger forgets it."""
        steps = [self._append_run(fire), self._update_job(fire)]
        if fire.sent_text:
            steps.append(self._append_to_conversation(fire))
        results = await asyncio.gather(*steps, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if any(isinstance(e, NotFoundError) for e in errors):
            log.info("fire_job_gone")
        failures = [e for e in errors if not isinstance(e, NotFoundError)]
        if failures:
            raise failures[0]
        await self._ledger.mark_recorded(fire)
        RECORDS.labels("ok").inc()
        log.info("fire_recorded", outcome=fire.outcome.value)

    async def _append_run(self, fire: Fire) -> None:
        await self._rest.append_cron_job_run(
            fire.job_id,
            scheduled_for=fire.scheduled_for,
            outcome=fire.outcome,
            delivered_at=None if fire.outcome == RunOutcome.missed else fire.published_at,
            message_id=fire.message_id,
            repeat=fire.repeat,
        )

    async def _update_job(self, fire: Fire) -> None:
        """Moves the last run forward (rest_service computes the next one from it, with the same
        `common.features.schedule`); a one-off that still has this run time ends."""
        job = await self._rest.get_cron_job(fire.job_id)
        if job.last_run_at is not None and job.last_run_at >= fire.scheduled_for:
            return
        changes: dict[str, Any] = {"last_run_at": fire.scheduled_for}
        occurrence = fire.occurrence or fire.scheduled_for
        missed = fire.outcome == RunOutcome.missed
        if fire.occurrence is not None and not missed:  # urgent: what its repeats go from
            changes |= {"repeating_for": fire.occurrence, "repeats_sent": fire.repeat}
        still_due = job.run_at == occurrence
        if fire.one_off and still_due and job.status == CronJobStatus.active:
            # An urgent one-off stays active while it repeats (Done ends it sooner).
            last = fire.occurrence is None or missed or fire.repeat >= job.max_repeats
            if last:
                changes["status"] = CronJobStatus.missed if missed else CronJobStatus.done
        await self._rest.update_cron_job(fire.job_id, **changes)

    async def _append_to_conversation(self, fire: Fire) -> None:
        key = f"chat:{fire.chat_id}" if fire.chat_id < 0 else fire.user_id
        secretary = await self._secretary_id()
        if key is None or secretary is None:
            log.info(
                "fire_not_in_conversation", reason="no user" if key is None else "no secretary"
            )
            return
        thread = await self._rest.get_or_create_thread(key, secretary)
        await self._rest.append_message(
            thread.thread_id,
            MessageRole.assistant,
            fire.sent_text,
            dedup_key=f"cron:{fire.message_id}",
        )

    async def _secretary_id(self) -> str | None:
        cached, at = self._secretary
        if cached is not None and time.monotonic() - at < _SECRETARY_TTL_S:
            return cached
        secretary = (await self._rest.get_config()).secretary
        self._secretary = (str(secretary.id) if secretary else None, time.monotonic())
        return self._secretary[0]
