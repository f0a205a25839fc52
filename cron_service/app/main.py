"""The cron_service worker: sync, fire, record, recover; `/health` and `/metrics`.

Five loops share one process: the sync (at start, on `cron:updated`, and every
CRON_RESYNC_INTERVAL, so a lost message heals), the `cron:updated` listener, the recorder
pool, the recovery sweep that finishes recording fires a crash left behind, and the replica
heartbeat that decides this replica's share of the jobs (`replicas.py`): the partitions of the
job ids it loads, keeps and plans.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import timedelta

from redis.exceptions import RedisError

from common.infrastructure.logging import get_logger
from common.infrastructure.pubsub import listen
from common.infrastructure.rest_client import RestClient
from common.infrastructure.settings import load_settings
from common.infrastructure.worker import WorkerRuntime, worker_runtime
from cron_service.app.clock import Clock
from cron_service.app.fires import FireLedger, FireRules
from cron_service.app.metrics import REPLICAS, SYNCS
from cron_service.app.recorder import Recorder
from cron_service.app.replicas import Membership, Ring, new_replica_id
from cron_service.app.scheduler import ReminderScheduler
from cron_service.app.settings import Settings

log = get_logger(__name__)

#: A sync that failed is tried again this soon (or at the resync interval, if sooner).
_SYNC_RETRY_S = 2.0
#: How long the first sync waits for the `cron:updated` subscription (Redis may be down).
_FIRST_SUBSCRIPTION_WAIT_S = 5.0


class SchedulerUnhealthy(Exception):
    """The scheduler is not running, or has not synced with rest_service for too long."""


class CronService:
    def __init__(self, ctx: WorkerRuntime, settings: Settings, rest: RestClient) -> None:
        self._ctx = ctx
        self._settings = settings
        self._clock = Clock.starting_at(
            settings.cron_test_clock_start, settings.cron_test_clock_rate
        )
        ledger = FireLedger(ctx.redis, ctx.names, settings.cron_fire_claim_ttl)
        self.recorder = Recorder(rest, ledger, settings.cron_record_concurrency, self._clock)
        self.scheduler = ReminderScheduler(
            rest,
            ledger,
            self.recorder,
            FireRules(settings.reminder_late_after, settings.reminder_misfire_grace),
            default_timezone=settings.default_timezone,
            clock=self._clock,
        )
        self.membership = Membership(
            ctx.redis, ctx.names, new_replica_id(), settings.cron_replica_ttl
        )
        #: The live replicas as the last heartbeat saw them, for `_rebalance`.
        self._seen = Ring.of(self.membership.replica_id)
        self._ring_changed = asyncio.Event()
        self._wanted = asyncio.Event()
        #: What `cron:updated` named since the last sync; `_full` when it was anything else.
        self._changed: set[str] = set()
        self._full = False
        self._subscribed = asyncio.Event()
        self._started = time.monotonic()

    async def run(self) -> None:
        """Runs until the worker's stop event; then stops firing and finishes recording."""
        self._ctx.health.add_check("scheduler", self.health)
        self.scheduler.start()
        ring = await self._beat()
        if ring is not None:  # the first sync plans this replica's share, not every job
            await self.scheduler.rebalance(ring)
        try:
            async with asyncio.TaskGroup() as group:
                loops = [
                    group.create_task(loop())
                    for loop in (
                        self.recorder.run,
                        self._sync_loop,
                        self._listen,
                        self._recover,
                        self._rebalance,
                        self._heartbeat,
                    )
                ]
                await self._ctx.stop.wait()
                self.scheduler.shutdown()
                # Nothing new is taken on while stopping: the sweep went on queueing the other
                # replicas' fires, and the stop waited for those until the grace ran out.
                for task in loops[1:]:
                    task.cancel()
                await self._leave()
                log.info("stopping", fires_to_record=self.recorder.unfinished)
                await self.recorder.drain(self._settings.shutdown_grace_seconds)
                loops[0].cancel()
        finally:
            self.scheduler.shutdown()

    async def health(self) -> dict[str, object]:
        if not self.scheduler.running:
            raise SchedulerUnhealthy("the scheduler is not running")
        last = self.scheduler.last_sync_at
        clock = self._clock
        age = (clock.real(clock.now()) - clock.real(last)).total_seconds() if last else None
        limit = 3 * self._settings.cron_resync_interval.total_seconds()
        waited = age if age is not None else time.monotonic() - self._started
        if waited > limit:
            when = last.isoformat() if last else "never"
            raise SchedulerUnhealthy(f"no sync with rest_service for {waited:.0f}s (last: {when})")
        ring = self.scheduler.ring
        return {
            "running": True,
            "jobs": self.scheduler.job_count,
            "known_jobs": self.scheduler.known_count,
            "replica": self.membership.replica_id,
            "replicas": len(ring.members),
            "partitions": len(ring.partitions),
            "last_sync_at": last.isoformat() if last else None,
            "last_sync_age_s": round(age, 1) if age is not None else None,
        }

    async def _sync_loop(self) -> None:
        """A full resync at start and every CRON_RESYNC_INTERVAL, whatever else happens; soon
        after `cron:updated` (bursts coalesced), a reload of the jobs it named that are this
        replica's (`ReminderScheduler.refresh`)."""
        interval = self._settings.cron_resync_interval.total_seconds()
        debounce = self._settings.cron_update_debounce.total_seconds()
        changed: set[str] | None = None
        next_full = 0.0
        await self._first_subscription()
        while True:
            ok = await self._sync_once(changed)
            if changed is None or not ok:  # a failed sync is retried soon, in full
                next_full = time.monotonic() + (interval if ok else min(interval, _SYNC_RETRY_S))
            changed = None
            try:
                await asyncio.wait_for(self._wanted.wait(), max(0.0, next_full - time.monotonic()))
            except TimeoutError:
                continue
            await asyncio.sleep(debounce)
            self._wanted.clear()
            # However many jobs were named: a flood of them is what the replicas' own
            # recordings make during a burst, and a full resync of 100 000 jobs then took
            # the burst's CPU (the scheduler reloads only its share of them).
            if not self._full and time.monotonic() < next_full:
                changed = self._changed
            self._changed, self._full = set(), False

    async def _first_subscription(self) -> None:
        """Subscribed before the first sync, nothing can have been missed: the subscription's
        ask for a full resync is dropped (it loaded every job twice at start)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), _FIRST_SUBSCRIPTION_WAIT_S)
        if self._subscribed.is_set():
            self._wanted.clear()
            self._changed, self._full = set(), False

    async def _sync_once(self, changed: set[str] | None) -> bool:
        """`changed` None: everything."""
        started = time.monotonic()
        try:
            if changed is None:
                await self.scheduler.resync()
            else:
                await self.scheduler.refresh(changed)
        except Exception as exc:  # rest_service down or answering nonsense: keep the old plan
            SYNCS.labels("failed").inc()
            log.warning("sync_failed", error=str(exc), error_type=type(exc).__name__)
            return False
        SYNCS.labels("ok" if changed is None else "targeted").inc()
        log.debug("synced", jobs=self.scheduler.job_count, took_s=time.monotonic() - started)
        return True

    async def _listen(self) -> None:
        """`cron:updated` asks for a reload; (re)subscribing asks for a full one, as messages
        sent while not subscribed are lost."""
        await listen(
            self._ctx.redis, self._ctx.names.cron_updated, self._on_jobs_changed, self._want_all
        )

    def _want_all(self) -> None:
        self._subscribed.set()
        self._full = True
        self._wanted.set()

    def _on_jobs_changed(self, data: str) -> None:
        """rest_service says `{"job_id": ..., "change": ...}`; anything else means all."""
        try:
            job_id = str(json.loads(data)["job_id"])
        except (TypeError, ValueError, KeyError):
            self._full = True
        else:
            self._changed.add(job_id)
        self._wanted.set()

    async def _recover(self) -> None:
        """At start, every fire left unrecorded; afterwards, those unrecorded for a while."""
        min_age = timedelta(0)
        while True:
            try:
                found = await self.recorder.sweep(min_age)
            except (RedisError, OSError) as exc:
                log.warning("recovery_failed", error=str(exc))
            else:
                if found:
                    log.info("unrecorded_fires_found", count=found)
                min_age = self._settings.cron_recovery_min_age
            await asyncio.sleep(self._settings.cron_recovery_interval.total_seconds())

    async def _heartbeat(self) -> None:
        """Every CRON_REPLICA_HEARTBEAT: renews this replica's membership; a change of the live
        replicas wakes `_rebalance` (never waited for here: a long sync holds the scheduler,
        and a heartbeat that waited would run out)."""
        interval = self._settings.cron_replica_heartbeat.total_seconds()
        while True:
            await asyncio.sleep(interval)
            ring = await self._beat()
            if ring is not None and ring != self.scheduler.ring:
                self._seen = ring
                self._ring_changed.set()

    async def _rebalance(self) -> None:
        """Takes the share of the latest live replicas seen."""
        while True:
            await self._ring_changed.wait()
            self._ring_changed.clear()
            ring = self._seen
            if ring == self.scheduler.ring:
                continue
            taken, given = await self.scheduler.rebalance(ring)
            log.info(
                "replicas_changed",
                replicas=len(ring.members),
                partitions=len(ring.partitions),
                taken=taken,
                given_up=given,
                known=self.scheduler.known_count,
            )
            self._load_owed()

    def _load_owed(self) -> None:
        """rest_service was down at a takeover: a full sync loads the partitions, soon."""
        if self.scheduler.owed:
            self._full = True
            self._wanted.set()

    async def _beat(self) -> Ring | None:
        """None when Redis is down: the last view stays (nothing fires without Redis)."""
        try:
            ring = await self.membership.beat()
        except (RedisError, OSError) as exc:
            log.warning("replica_heartbeat_failed", error=str(exc))
            return None
        REPLICAS.set(len(ring.members))
        return ring

    async def _leave(self) -> None:
        try:
            await self.membership.leave()
        except (RedisError, OSError) as exc:  # its heartbeat runs out instead
            log.warning("replica_leave_failed", error=str(exc))


async def main(stop: asyncio.Event) -> None:
    settings = load_settings(Settings)
    async with (
        worker_runtime("cron_service", settings, stop) as ctx,
        RestClient(settings.rest_service_url, settings.own_service_token) as rest,
    ):
        ctx.health.add_readiness("rest_service", rest.ready)  # the jobs live there
        await CronService(ctx, settings, rest).run()
