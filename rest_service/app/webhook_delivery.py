"""The webhook delivery worker: sends the outbox (`webhook_deliveries`) after the commits
that wrote it (decision 0050).

Each replica runs one. A worker claims due rows with `FOR UPDATE SKIP LOCKED` and, in the
same short transaction, counts the attempt and hides the row for a lease (its
`next_attempt_at` moves past the send's timeout), so two replicas never send one delivery
at once and a replica that dies mid-send leaves it to another once the lease ends. The send
happens outside any transaction; its outcome is written only if the row is still the
attempt this worker claimed. Failures wait the one retry policy's backoff
(common/infrastructure/retry.py) up to WEBHOOK_MAX_ATTEMPTS (an API client's, decision 0061:
until API_WEBHOOK_RETRY_HOURS after its queueing), then the delivery is dead until an admin
replays it. A Redis nudge after each commit that adds rows wakes the
workers; without it they look every WEBHOOK_POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure import pubsub
from common.infrastructure.address_guard import check_url, guarded_session
from common.infrastructure.clock import utcnow
from common.infrastructure.crypto import SecretDecryptionError
from common.infrastructure.http_client import UNANSWERED, failure_name, send
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.retry import RetryPolicy
from rest_service.app import bitrix24
from rest_service.app.database import create_sessionmaker
from rest_service.app.domain.unit_of_work import Resources, UnitOfWork, unit_of_work
from rest_service.app.models.api_client import ApiClient
from rest_service.app.models.webhook import (
    Bitrix24Lead,
    DeliveryStatus,
    DeliveryTarget,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from rest_service.app.settings import Settings
from rest_service.app.state import AppState

log = get_logger(__name__)

#: Rows one worker claims at a time (sent concurrently).
BATCH = 20
#: The shortest pause between two looks when a row is due now but another worker has it.
MIN_PAUSE_S = 0.01
#: The backoff's doubling stops counting here: the wait is long at its cap by then, and an
#: API client's day of retries must not overflow `2.0 ** attempts`.
BACKOFF_STEPS_MAX = 64
#: Where each target's receiver finds the signature.
SIGNATURE_HEADER = {
    DeliveryTarget.webhook: "X-Webhook-Signature",
    DeliveryTarget.api_client: "X-Signature-256",
}

DELIVERIES = Counter(
    "smart_assistant_webhook_deliveries_total",
    "Webhook delivery attempts by target and outcome: delivered, failed (retried), dead",
    ["target", "outcome"],
)


class DeliveryFailed(Exception):
    """An attempt did not succeed; the message (a status or an error's name) is what the row
    keeps as `last_error`."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, final: bool = False
    ) -> None:
        super().__init__(reason[:200])
        self.retry_after = retry_after
        #: No retry can succeed (a revoked client): dead at once.
        self.final = final


@dataclass(frozen=True)
class Claim:
    """A delivery as claimed: what to send, and the attempt it is."""

    id: uuid.UUID
    target: DeliveryTarget
    event: WebhookEvent
    event_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any]
    attempts: int
    queued_at: datetime
    url: str | None = None
    secret: str | None = None
    #: Why it cannot be sent as claimed (`subscription inactive`, `client revoked`, …).
    refusal: str | None = None
    #: The refusal is for good: the delivery is dead at once.
    final: bool = False
    lead_id: str = ""
    bitrix_id: int | None = None


@dataclass(frozen=True)
class Sent:
    """An attempt that succeeded; `bitrix_id`: the lead crm.lead.add made."""

    bitrix_id: int | None = None


def envelope(claim: Claim) -> bytes:
    """The body a subscriber gets: `{"id", "event", "created_at", "data"}`."""
    body = {
        "id": str(claim.event_id),
        "event": claim.event.value,
        "created_at": claim.occurred_at.isoformat(),
        "data": claim.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the receiver recomputes it."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class DeliveryWorker:
    def __init__(
        self, resources: Resources, http: aiohttp.ClientSession, settings: Settings
    ) -> None:
        self.resources = resources
        self.http = http
        self.settings = settings
        self.policy = RetryPolicy(
            retries=settings.webhook_max_attempts - 1,
            base_s=settings.webhook_retry_base_seconds,
            max_s=settings.webhook_retry_max_seconds,
            floor=0.5,  # equal jitter: never much sooner than the step, never in step
            ceiling=1.0,
        )
        self.wake = asyncio.Event()

    async def run_once(self) -> int:
        """Claims the due deliveries, sends them at once, then writes each outcome (one
        after another: the writes are short, the sends are what may take long)."""
        claims = await self.claim()
        outcomes = await asyncio.gather(*(self.attempt(claim) for claim in claims))
        for claim, outcome in zip(claims, outcomes, strict=True):
            await self.settle(claim, outcome)
        return len(claims)

    async def claim(self) -> list[Claim]:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_timeout_seconds * 2 + 30)
        due = (
            select(col(WebhookDelivery.id))
            .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
            .where(col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        async with unit_of_work(self.resources, "webhooks") as ctx:
            claimed = await ctx.session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(due.scalar_subquery()))
                .values(
                    attempts=WebhookDelivery.attempts + 1, next_attempt_at=lease, updated_at=now
                )
                .returning(WebhookDelivery)
                .execution_options(synchronize_session=False)
            )
            rows = list(claimed.scalars().all())
            return await _with_subscriptions(ctx, rows)

    async def attempt(self, claim: Claim) -> Sent | DeliveryFailed:
        try:
            return await self.send(claim)
        except DeliveryFailed as exc:
            return exc

    async def settle(self, claim: Claim, outcome: Sent | DeliveryFailed) -> None:
        if isinstance(outcome, DeliveryFailed):
            await self.record_failure(claim, outcome)
            return
        DELIVERIES.labels(claim.target.value, "delivered").inc()
        await self.record(claim, DeliveryStatus.delivered, None, bitrix_id=outcome.bitrix_id)

    async def send(self, claim: Claim) -> Sent:
        if claim.target is DeliveryTarget.bitrix24:
            return await self.send_bitrix24(claim)
        if claim.refusal is not None or claim.url is None or claim.secret is None:
            raise DeliveryFailed(claim.refusal or "SecretUnreadable", final=claim.final)
        await self.guard(claim.url)
        body = envelope(claim)
        timestamp = str(int(utcnow().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SmartAssistant-Webhooks/1.0",
            "X-Webhook-Event": claim.event.value,
            "X-Webhook-Id": str(claim.event_id),
            "X-Webhook-Timestamp": timestamp,
            SIGNATURE_HEADER[claim.target]: signature(claim.secret, timestamp, body),
        }
        try:
            answer = await send(
                self.http,
                "POST",
                claim.url,
                timeout=self.settings.webhook_timeout_seconds,
                data=body,
                headers=headers,
            )
        except UNANSWERED as exc:
            raise DeliveryFailed(failure_name(exc)) from exc
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(f"HTTP {answer.status}")
        return Sent()

    async def send_bitrix24(self, claim: Claim) -> Sent:
        """crm.lead.add for a lead not in Bitrix24 yet, else crm.lead.update of the lead
        that add made (a replayed add included)."""
        if not claim.lead_id:
            raise DeliveryFailed("lead event without an id")
        base = self.settings.bitrix24_webhook_url
        if not base:
            raise DeliveryFailed("BITRIX24_WEBHOOK_URL unset")
        await self.guard(base)
        timeout = self.settings.webhook_timeout_seconds
        known = claim.bitrix_id
        try:
            if known is not None:
                await bitrix24.update_lead(self.http, base, known, claim.payload, timeout)
                return Sent()
            if claim.event is WebhookEvent.lead_created:
                return Sent(await bitrix24.add_lead(self.http, base, claim.payload, timeout))
            raise DeliveryFailed("no Bitrix24 lead yet (its crm.lead.add is not through)")
        except bitrix24.Bitrix24Error as exc:
            raise DeliveryFailed(str(exc)) from exc
        except UNANSWERED as exc:
            raise DeliveryFailed(failure_name(exc)) from exc

    async def guard(self, url: str) -> None:
        """The address check for an IP literal (the session's resolver checks names)."""
        try:
            await check_url(url, allow_private=self.settings.webhook_allow_private_addresses)
        except OSError as exc:
            raise DeliveryFailed(type(exc).__name__) from exc

    async def record_failure(self, claim: Claim, failure: DeliveryFailed) -> None:
        reason = str(failure)
        if failure.final or self.exhausted(claim):
            DELIVERIES.labels(claim.target.value, "dead").inc()
            log.warning("webhook_dead", delivery=str(claim.id), error=reason)
            await self.record(claim, status=DeliveryStatus.dead, last_error=reason)
            return
        DELIVERIES.labels(claim.target.value, "failed").inc()
        wait = self.policy.wait(min(claim.attempts, BACKOFF_STEPS_MAX), failure.retry_after)
        later = utcnow() + timedelta(seconds=wait)
        await self.record(claim, DeliveryStatus.pending, last_error=reason, next_attempt_at=later)

    def exhausted(self, claim: Claim) -> bool:
        """No more tries: an API client's delivery past its retry time (its receiver may be
        down for hours, and the answer still matters), any other after its attempts."""
        if claim.target is DeliveryTarget.api_client:
            horizon = timedelta(hours=self.settings.api_webhook_retry_hours)
            return utcnow() - claim.queued_at >= horizon
        return claim.attempts >= self.settings.webhook_max_attempts

    async def record(
        self,
        claim: Claim,
        status: DeliveryStatus,
        last_error: str | None,
        next_attempt_at: datetime | None = None,
        bitrix_id: int | None = None,
    ) -> None:
        """Only onto the attempt claimed: a row replayed or claimed again meanwhile is not
        overwritten by a late answer."""
        now = utcnow()
        values: dict[str, Any] = {"status": status, "last_error": last_error, "updated_at": now}
        values["next_attempt_at"] = next_attempt_at or now
        if status is DeliveryStatus.delivered:
            values["delivered_at"] = now
        async with unit_of_work(self.resources, "webhooks") as ctx:
            await ctx.session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == claim.id)
                .where(col(WebhookDelivery.attempts) == claim.attempts)
                .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
                .values(values)
                .execution_options(synchronize_session=False)
            )
            if bitrix_id is not None and claim.lead_id:
                await _remember_bitrix_id(ctx, claim.lead_id, bitrix_id)

    async def pause(self) -> float:
        """Seconds until the next pending row is due, within the poll interval."""
        async with unit_of_work(self.resources, "webhooks") as ctx:
            due = await ctx.session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    col(WebhookDelivery.status) == DeliveryStatus.pending
                )
            )
        poll = self.settings.webhook_poll_seconds
        if due is None:
            return poll
        return min(poll, max(MIN_PAUSE_S, (due - utcnow()).total_seconds()))

    async def run(self) -> None:
        """Until cancelled: send what is due, then wait for a nudge or the next due row."""
        while True:
            self.wake.clear()
            try:
                if await self.run_once():
                    continue
                pause = await self.pause()
            except Exception as exc:  # a background loop must outlive any one failure
                log.warning("webhook_worker_failed", error=type(exc).__name__)
                pause = self.settings.webhook_poll_seconds
            # Not `wait_for`: on 3.11 a cancel landing as the event is set (a nudge, the
            # listener's subscription) was swallowed, and the stop waited a whole poll.
            with suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self.wake.wait()


async def _remember_bitrix_id(ctx: UnitOfWork, lead_id: str, bitrix_id: int) -> None:
    now = utcnow()
    await ctx.session.execute(
        insert(Bitrix24Lead)
        .values(lead_id=lead_id, bitrix_id=bitrix_id, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=["lead_id"], set_={"bitrix_id": bitrix_id, "updated_at": now}
        )
    )


async def _with_subscriptions(ctx: UnitOfWork, rows: list[WebhookDelivery]) -> list[Claim]:
    """Each claim with its subscription's or API client's URL and secret, or its lead's
    Bitrix24 id."""
    leads = {_lead_id(row) for row in rows if row.target is DeliveryTarget.bitrix24} - {""}
    known = dict(
        (
            await ctx.session.execute(
                select(col(Bitrix24Lead.lead_id), col(Bitrix24Lead.bitrix_id)).where(
                    col(Bitrix24Lead.lead_id).in_(leads)
                )
            )
        ).all()
    )
    ids = {row.subscription_id for row in rows if row.subscription_id is not None}
    subs = {
        sub.id: sub
        for sub in (
            await ctx.session.scalars(
                select(WebhookSubscription).where(col(WebhookSubscription.id).in_(ids))
            )
        ).all()
    }
    client_ids = {row.api_client_id for row in rows if row.api_client_id is not None}
    clients = {
        client.id: client
        for client in (
            await ctx.session.scalars(select(ApiClient).where(col(ApiClient.id).in_(client_ids)))
        ).all()
    }
    claims = []
    for row in rows:
        claim = _claim(ctx, row, subs.get(row.subscription_id), known.get(_lead_id(row)))  # type: ignore[arg-type]
        client = clients.get(row.api_client_id)  # type: ignore[arg-type]
        claims.append(claim if client is None else _to_client(ctx, claim, client))
    return claims


def _lead_id(row: WebhookDelivery) -> str:
    return str(row.payload.get("id", ""))[:64]


def _claim(
    ctx: UnitOfWork,
    row: WebhookDelivery,
    sub: WebhookSubscription | None,
    bitrix_id: int | None,
) -> Claim:
    claim = Claim(
        id=row.id,
        target=row.target,
        event=row.event,
        event_id=row.event_id,
        occurred_at=row.occurred_at,
        payload=row.payload,
        attempts=row.attempts,
        queued_at=row.queued_at,
        lead_id=_lead_id(row),
        bitrix_id=bitrix_id,
    )
    if sub is None:
        return claim
    refusal = None if sub.is_active else "subscription inactive"
    secret = _opened(ctx, sub.secret_encrypted)
    return dataclasses.replace(claim, url=sub.url, secret=secret, refusal=refusal)


def _to_client(ctx: UnitOfWork, claim: Claim, client: ApiClient) -> Claim:
    """To the client's webhook as it is now (its URL and secret may have changed since the
    queueing). A revoked client's is dead at once; one without a URL or a secret waits for
    an admin to give it one, within its retry time."""
    if client.revoked_at is not None:
        return dataclasses.replace(claim, refusal="client revoked", final=True)
    if client.webhook_url is None:
        return dataclasses.replace(claim, refusal="no webhook_url")
    if client.webhook_secret_encrypted is None:
        return dataclasses.replace(claim, refusal="no webhook secret")
    secret = _opened(ctx, client.webhook_secret_encrypted)
    return dataclasses.replace(claim, url=client.webhook_url, secret=secret)


def _opened(ctx: UnitOfWork, token: str) -> str | None:
    """A signing secret in clear; None when no key opens it (named `SecretUnreadable`)."""
    try:
        return ctx.box.decrypt(token)
    except SecretDecryptionError:
        return None


@dataclass
class RunningWorker:
    task: asyncio.Task[None]
    listener: asyncio.Task[None]
    http: aiohttp.ClientSession
    #: Ends the listener, as the other services end theirs: a cancel landing in redis-py's
    #: read was swallowed there, and rest_service's stop waited on it (minutes, in tests).
    stop: asyncio.Event


def start_worker(state: AppState) -> RunningWorker | None:
    """The worker and its nudge listener, on sessions of their own (never a request's)."""
    settings = state.settings
    if not settings.webhook_delivery_enabled:
        return None
    http = guarded_session(
        settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private_addresses
    )
    resources = dataclasses.replace(state, sessions=create_sessionmaker(state.engine))
    worker = DeliveryWorker(resources, http, settings)
    channel = Names(settings.redis_key_prefix).webhooks_pending
    stop = asyncio.Event()
    listener = asyncio.create_task(
        pubsub.listen(state.redis, channel, lambda _: worker.wake.set(), worker.wake.set, stop),
        name="webhook_nudges",
    )
    return RunningWorker(asyncio.create_task(worker.run(), name="webhooks"), listener, http, stop)


async def stop_worker(running: RunningWorker | None) -> None:
    if running is None:
        return
    running.stop.set()
    running.task.cancel()
    with suppress(asyncio.CancelledError):
        await running.task
    await running.listener
    await running.http.close()
