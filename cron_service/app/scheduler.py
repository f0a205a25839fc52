"""The scheduler: active jobs from rest_service, their fires timed by APScheduler 3.

APScheduler only keeps time here. Each active job is planned for one occurrence (its next, or an
overdue one not yet fired); jobs planned for the same instant share one APScheduler job (a
`DateTrigger`, id `at:<instant>`), because reminders cluster on round minutes and 10 000
APScheduler jobs due at 09:00 cost far more than one. Recurrence is computed by
`common/features/schedule.py` in the job's timezone; when a fire is done the job's following
occurrence is planned. A resync that plans what is already planned changes nothing (plans are keyed
by job id), nor does one that meets a fire taken out of its bucket and not yet claimed (it stays
marked as firing). The job store is the default in-memory one, never shared: jobs live in
rest_service and reach every instance by sync. Each instance loads, keeps and plans only its share:
the jobs of the partitions of the id space it owns (`replicas.Ring`: rendezvous hashing of the
partitions over the live replicas; rest_service's listing filters by partition). When the replicas
change, the partitions taken over are loaded (one listing) and planned, and those given up are
forgotten, so a replica's memory follows its share. APScheduler's misfire handling
is off (`misfire_grace_time=None`: run however late), and `max_instances` is high (a bucket may be
re-made while its previous run is still firing), because lateness, grace and the "(late)" mark are
decided by `fires.compose`, and a fire happens once because of its claim in Redis, not because of
anything APScheduler remembers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from redis.exceptions import RedisError

from common.features.job_partitions import JOB_PARTITIONS, partition_of
from common.features.schedule import InvalidSchedule
from common.infrastructure.errors import NotFoundError
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, CronJobStatus, RunOutcome
from cron_service.app import metrics
from cron_service.app.clock import Clock
from cron_service.app.fires import Composed, Fire, FireLedger, FireRules, compose
from cron_service.app.jobs import PlannedJob, plan
from cron_service.app.recorder import Recorder
from cron_service.app.replicas import Ring

log = get_logger(__name__)

#: How soon fires that failed to reach Redis are tried again.
_RETRY_AFTER = timedelta(seconds=5)
#: Fires claimed and published in one Redis round trip.
_FIRE_BATCH = 250
#: Jobs loaded from rest_service at once after `cron:updated` or a takeover.
_FETCH_CONCURRENCY = 8
#: Jobs a pass over all of them (a sync, a rebalance) handles between turns of the loop.
_YIELD_EVERY = 500
#: A full load asks for the jobs of 16 slices of the partitions, one after another.
_SLICES = tuple(
    frozenset(range(start, start + JOB_PARTITIONS // 16))
    for start in range(0, JOB_PARTITIONS, JOB_PARTITIONS // 16)
)
#: More of this replica's jobs named by `cron:updated` than this: one full load instead of
#: one request each, unless a burst is going out (a full load then took the burst's CPU).
_MAX_REFRESHED = 2000


@dataclass(frozen=True)
class _Planned:
    #: The occurrence.
    scheduled_for: datetime
    #: When to fire it: the occurrence, or a retry after a failure.
    run_at: datetime


def bucket_id(run_at: datetime) -> str:
    return f"at:{run_at.isoformat()}"


class ReminderScheduler:
    def __init__(
        self,
        rest: RestClient,
        ledger: FireLedger,
        recorder: Recorder,
        rules: FireRules,
        *,
        default_timezone: str = "UTC",
        clock: Clock | None = None,
        retry_after: timedelta = _RETRY_AFTER,
    ) -> None:
        self._clock = clock or Clock()
        self._retry_after = retry_after
        self._rest = rest
        self._ledger = ledger
        self._recorder = recorder
        self._rules = rules
        self._default_timezone = default_timezone
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1000},
        )
        #: The active jobs of this replica's partitions, as last loaded.
        self._known: dict[str, CronJob] = {}
        self._ring = Ring.of("")
        #: Partitions taken over whose jobs could not be loaded yet.
        self._owed: set[int] = set()
        #: Jobs reloaded one by one while a full load runs (None when none runs).
        self._learned_while_loading: set[str] | None = None
        #: Partitions a takeover loaded (or tried to) while a full load ran: newer than it.
        self._taken_while_loading: set[int] | None = None
        self._jobs: dict[str, PlannedJob] = {}
        self._planned: dict[str, _Planned] = {}
        #: PlannedJob ids by the instant they fire at; one APScheduler job per instant.
        self._buckets: dict[datetime, set[str]] = {}
        #: The last occurrence this process fired (or found claimed), per job.
        self._fired: dict[str, datetime] = {}
        #: The occurrence of each job taken out of its bucket and not yet claimed: a sync
        #: meanwhile must not plan it again (it went out a second time, refused by its claim).
        self._firing: dict[str, datetime] = {}
        self._sync_lock = asyncio.Lock()
        self._stopping = False
        self.last_sync_at: datetime | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        """Stops firing (APScheduler finishes stopping on the loop's next turn)."""
        if self._aps.running and not self._stopping:
            self._stopping = True
            self._aps.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._aps.running) and not self._stopping

    @property
    def job_count(self) -> int:
        """The jobs this replica plans (its share)."""
        return len(self._jobs)

    @property
    def planned_count(self) -> int:
        """The fires planned and not yet taken out to be sent."""
        return len(self._planned)

    @property
    def known_count(self) -> int:
        return len(self._known)

    @property
    def ring(self) -> Ring:
        return self._ring

    # --- sync --------------------------------------------------------------------------------

    async def resync(self) -> None:
        """Loads the active jobs of this replica's partitions and makes the scheduler match:
        new and changed jobs are (re)planned, jobs no longer active or no longer ours leave."""
        # Loaded outside the lock: a takeover does not wait for a long load (100 000 jobs).
        ring = self._ring
        self._learned_while_loading, self._taken_while_loading = set(), set()
        try:
            loaded, covered = await self._load_share()
        finally:
            learned, self._learned_while_loading = self._learned_while_loading, None
            taken, self._taken_while_loading = self._taken_while_loading, None
        async with self._sync_lock:
            for job_id in learned:  # reloaded by name meanwhile: newer than the load
                if job_id in self._known:
                    loaded[job_id] = self._known[job_id]
                else:
                    loaded.pop(job_id, None)
            covered -= taken
            if taken or self._ring != ring:  # the share moved while the load ran
                self._keep_taken_over(loaded, covered)
                loaded = {job_id: job for job_id, job in loaded.items() if self._ring.owns(job_id)}
            self._known = loaded
            self._owed -= covered
            now = self._clock.now()
            jobs = {}
            for n, (job_id, data) in enumerate(list(self._known.items())):
                job = self._parse(data)
                if job is not None:
                    jobs[job_id] = job
                await _breathe(n)
            for job_id in self._jobs.keys() - jobs.keys():
                self._drop(job_id)
            for n, job in enumerate(jobs.values()):
                self._plan(job, now)
                await _breathe(n)
            self.last_sync_at = now
            self._count()
            metrics.LAST_SYNC.set(now.timestamp())

    def _keep_taken_over(self, loaded: dict[str, CronJob], covered: frozenset[int]) -> None:
        """Of the partitions a full load did not cover (taken over while it ran), what the
        takeover loaded serves, not what the full load brought."""
        for job_id in [j for j in loaded if partition_of(j) not in covered]:
            del loaded[job_id]
        for job_id, data in self._known.items():
            if partition_of(job_id) not in covered:
                loaded[job_id] = data

    async def rebalance(self, ring: Ring) -> tuple[int, int]:
        """Takes the share `ring` gives this replica: the partitions taken over are loaded
        from rest_service and planned (an overdue fire at once), the jobs of partitions now
        another's are planned no more and forgotten. Returns how many jobs were taken and
        given up."""
        async with self._sync_lock:
            old, self._ring = self._ring, ring
            self._owed &= ring.partitions
            given = 0
            for n, job_id in enumerate(list(self._known.keys() | self._jobs.keys())):
                if not ring.owns(job_id):
                    given += job_id in self._jobs
                    self._drop(job_id)
                    self._known.pop(job_id, None)
                await _breathe(n)
            taken = await self._take(ring.partitions - old.partitions | self._owed)
            self._count()
            return taken, given

    async def _take(self, partitions: frozenset[int]) -> int:
        """Loads and plans the jobs of partitions taken over; rest_service down: they are owed,
        and the next full sync loads them (the service asks for one soon)."""
        if not partitions:
            return 0
        if self._taken_while_loading is not None:
            self._taken_while_loading |= partitions
        try:
            loaded = await self._load_active(partitions)
        except Exception as exc:
            self._owed |= partitions
            log.warning("takeover_reload_failed", partitions=len(partitions), error=str(exc))
            return 0
        self._owed -= partitions
        now = self._clock.now()
        taken = 0
        for n, (job_id, data) in enumerate(loaded.items()):
            self._known[job_id] = data
            job = self._parse(data)
            if job is not None:
                self._plan(job, now)
                taken += 1
            await _breathe(n)
        return taken

    @property
    def owed(self) -> bool:
        """Partitions taken over and not loaded yet (rest_service was down)."""
        return bool(self._owed)

    async def refresh(self, job_ids: set[str]) -> None:
        """Reloads only these jobs (the ones `cron:updated` named) that are this replica's;
        the others' are another replica's to reload, and loaded with their partition if this
        replica ever takes it over. Very many of its own: a full resync, but never while fires
        are going out."""
        mine = {job_id for job_id in job_ids if self._ring.owns(job_id)}
        if len(mine) > _MAX_REFRESHED and not self._firing:
            await self.resync()
            return
        async with self._sync_lock:
            mine = {job_id for job_id in job_ids if self._ring.owns(job_id)}
            for job_id, data in (await self._fetch(mine)).items():
                self._learn(job_id, data)
                job = self._parse(data) if data is not None else None
                if job is None:
                    self._drop(job_id)
                else:
                    self._plan(job, self._clock.now())
            self._count()

    def _count(self) -> None:
        metrics.SCHEDULED.set(len(self._jobs))
        metrics.KNOWN.set(len(self._known))
        metrics.PARTITIONS.set(len(self._ring.partitions))

    async def _fetch(self, job_ids: set[str]) -> dict[str, CronJob | None]:
        """These jobs from rest_service, a few at a time; None for one that is gone."""
        gate = asyncio.Semaphore(_FETCH_CONCURRENCY)

        async def one(job_id: str) -> CronJob | None:
            async with gate:
                try:
                    return await self._rest.get_cron_job(job_id)
                except NotFoundError:
                    return None

        ids = sorted(job_ids)
        return dict(zip(ids, await asyncio.gather(*(one(i) for i in ids)), strict=True))

    def _learn(self, job_id: str, data: CronJob | None) -> None:
        if self._learned_while_loading is not None:
            self._learned_while_loading.add(job_id)
        if data is None or data.status != CronJobStatus.active:
            self._known.pop(job_id, None)
        else:
            self._known[job_id] = data

    async def _load_share(self) -> tuple[dict[str, CronJob], frozenset[int]]:
        """The active jobs of this replica's partitions, and the partitions loaded: a slice of
        the id space at a time, each cut to the share as it is by then. Replicas started
        together see each other only after a heartbeat, and the first one's first load was
        every job: its memory kept the peak of the whole."""
        loaded: dict[str, CronJob] = {}
        covered: frozenset[int] = frozenset()
        for piece in _SLICES:
            wanted = piece & self._ring.partitions
            if wanted:
                loaded.update(await self._load_active(wanted))
                covered |= wanted
        return loaded, covered

    async def _load_active(self, partitions: frozenset[int]) -> dict[str, CronJob]:
        """The active jobs of these partitions."""
        jobs: dict[str, CronJob] = {}
        listing = self._rest.iter_cron_jobs(status=CronJobStatus.active, partitions=partitions)
        async for data in listing:
            if data.status == CronJobStatus.active:
                jobs[str(data.id)] = data
        return jobs

    def _parse(self, data: CronJob) -> PlannedJob | None:
        """The job if it is active and can be scheduled; a broken one is logged and left."""
        if data.status != CronJobStatus.active:
            return None
        try:
            return plan(data, self._default_timezone)
        except (InvalidSchedule, ValueError) as exc:
            log.warning("job_unschedulable", job_id=str(data.id), reason=str(exc))
            return None

    def _plan(self, job: PlannedJob, now: datetime) -> None:
        """Schedules the job's next fire (rest_service's `next_run_at` for it is the same:
        both come from `common.features.schedule`, so nothing is written back)."""
        previous = self._jobs.get(job.id)
        self._jobs[job.id] = job
        if previous is not None and previous.fingerprint != job.fingerprint:
            self._fired.pop(job.id, None)
        elif previous is not None and job.id in self._planned:
            return
        fire_at = job.next_fire(now)
        if fire_at is not None:
            self._schedule(job.id, fire_at)

    def _schedule(
        self, job_id: str, scheduled_for: datetime, run_at: datetime | None = None
    ) -> None:
        plan = _Planned(scheduled_for, run_at or scheduled_for)
        if self._planned.get(job_id) == plan:
            return
        self._unschedule(job_id)
        if scheduled_for in (self._fired.get(job_id), self._firing.get(job_id)):
            return
        self._planned[job_id] = plan
        bucket = self._buckets.get(plan.run_at)
        if bucket is None:
            bucket = self._buckets[plan.run_at] = set()
            self._aps.add_job(
                self._fire_bucket,
                trigger=DateTrigger(run_date=self._clock.real(plan.run_at)),
                id=bucket_id(plan.run_at),
                args=[plan.run_at],
                replace_existing=True,
            )
        bucket.add(job_id)

    def _unschedule(self, job_id: str) -> None:
        current = self._planned.pop(job_id, None)
        bucket = self._buckets.get(current.run_at) if current else None
        if current is None or bucket is None:
            return
        bucket.discard(job_id)
        if not bucket:
            del self._buckets[current.run_at]
            # JobLookupError: it is firing right now.
            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(bucket_id(current.run_at))

    def _drop(self, job_id: str) -> None:
        self._unschedule(job_id)
        self._jobs.pop(job_id, None)
        self._fired.pop(job_id, None)

    # --- fire --------------------------------------------------------------------------------

    async def _fire_bucket(self, run_at: datetime) -> None:
        """APScheduler calls this at the instant (or at once, when overdue): every job planned
        for it fires, a batch per Redis call; the next batch is composed while one is sent."""
        due: list[tuple[PlannedJob, datetime]] = []
        for job_id in self._buckets.pop(run_at, set()):
            plan = self._planned.pop(job_id, None)
            job = self._jobs.get(job_id)
            if plan is not None and job is not None:
                due.append((job, plan.scheduled_for))
                self._firing[job_id] = plan.scheduled_for
        try:
            with self._recorder.held():
                await self._fire_all(due)
        finally:  # cut short: what was not sent may be planned again
            self._done_firing(due)

    def _done_firing(self, due: list[tuple[PlannedJob, datetime]]) -> None:
        for job, scheduled_for in due:
            if self._firing.get(job.id) == scheduled_for:
                del self._firing[job.id]

    async def _fire_all(self, due: list[tuple[PlannedJob, datetime]]) -> None:
        sending: asyncio.Task[None] | None = None
        for start in range(0, len(due), _FIRE_BATCH):
            batch = due[start : start + _FIRE_BATCH]
            now = self._clock.now()
            composed = [
                compose(job, scheduled_for, now, self._rules) for job, scheduled_for in batch
            ]
            if sending is not None:
                await sending
            sending = asyncio.create_task(self._send(batch, composed))
            await asyncio.sleep(0)  # let it write its request before composing the next
        if sending is not None:
            await sending

    async def _send(self, due: list[tuple[PlannedJob, datetime]], composed: list[Composed]) -> None:
        try:
            claimed = await self._ledger.claim_and_publish_many(composed)
        except (RedisError, OSError) as exc:  # try again soon: the claim keeps it once
            self._done_firing(due)
            log.warning("fires_failed", count=len(due), error=str(exc))
            retry_at = self._clock.now() + self._retry_after
            for job, scheduled_for in due:
                # Not a job removed, or planned anew (moved), while its fire was on the way.
                if job.id in self._jobs and job.id not in self._planned:
                    self._schedule(job.id, scheduled_for, retry_at)
            return
        self._done_firing(due)
        sent = 0
        for (job, scheduled_for), (_, _, fire), ok in zip(due, composed, claimed, strict=True):
            self._fired[job.id] = scheduled_for
            # A missed fire is told once, never repeated.
            repeats = fire.outcome != RunOutcome.missed
            following = job.following(scheduled_for, fire.published_at, repeat=repeats)
            if following is not None and job.id not in self._planned and job.id in self._jobs:
                self._schedule(job.id, following)
            with correlation(fire.message_id, job_id=job.id):
                _count(fire, ok)
            if ok:
                sent += 1
                self._recorder.submit(fire)
        late = max(fire.lateness.total_seconds() for _, _, fire in composed)
        log.info(
            "fired", count=sent, already_claimed=len(due) - sent, max_lateness_s=round(late, 3)
        )


async def _breathe(n: int) -> None:
    """Lets the loop run every `_YIELD_EVERY` jobs of a long pass over 100 000: a pass that
    held it for seconds stopped the heartbeat, the other replicas saw this one die and took
    its share, and the rebalances that followed held their loops in turn."""
    if n % _YIELD_EVERY == _YIELD_EVERY - 1:
        await asyncio.sleep(0)


def _count(fire: Fire, claimed: bool) -> None:
    """Metrics for every fire; a log line for the unusual ones (the batch has one too)."""
    if not claimed:
        metrics.ALREADY_FIRED.inc()
        log.debug("fire_already_claimed", scheduled_for=fire.scheduled_for.isoformat())
        return
    lateness = fire.lateness.total_seconds()
    metrics.FIRES.labels(fire.job_type, fire.outcome.value).inc()
    if fire.repeat:
        metrics.URGENT_REPEATS.inc()
    metrics.LATENESS.observe(max(0.0, lateness))
    if fire.outcome == RunOutcome.missed:
        metrics.MISSES.labels(fire.job_type).inc()
    if fire.outcome != RunOutcome.on_time:
        log.info("fired_" + fire.outcome.value, lateness_s=round(lateness, 3))
