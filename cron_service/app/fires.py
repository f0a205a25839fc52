"""One fire of a job: what it sends, and the Redis ledger that makes it happen once.

The order is claim → publish → record. The claim (`SET NX` on the fire's key, with a long TTL)
and the publish (`XADD`) happen in one Lua call (for a batch of fires), together with an entry
in the hash of unrecorded fires; so there is no moment at which a fire is claimed but not
sent, and a second instance or a restart that reaches the same fire finds it claimed.
Recording in rest_service comes after and is idempotent (a run per job and scheduled time,
messages by dedup key); a crash before it leaves the fire in the unrecorded hash, which every
instance sweeps.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from common.features.buttons import fired_reminder_buttons
from common.infrastructure.channels import Channel, answer_stream
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    ChatType,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    Source,
    fire_message_id,
)
from common.infrastructure.redis_keys import TO_CHANNELS, TO_SECRETARY, TO_TELEGRAM, Names
from common.infrastructure.wire import CronJobType, RunOutcome
from cron_service.app import texts
from cron_service.app.jobs import PlannedJob

log = get_logger(__name__)

# Claims and publishes a batch of fires to one stream, each only if its claim is new. KEYS: the
# stream, its unrecorded hash, then a claim key per fire (one Cluster slot: the stream's, see
# `Names.fire_claim`). ARGV: the claim TTL (s), then per fire its message id, payload, key in
# the hash and record. Returns 1 (sent) or 0 (already claimed) each.
_CLAIM_AND_PUBLISH = """
local out = {}
for i = 1, #KEYS - 2 do
  local a = 2 + (i - 1) * 4
  if redis.call('SET', KEYS[i + 2], ARGV[a], 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'data', ARGV[a + 1])
    redis.call('HSET', KEYS[2], ARGV[a + 2], ARGV[a + 3])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""


def classify(lateness: timedelta, late_after: timedelta, grace: timedelta) -> RunOutcome:
    if lateness > grace:
        return RunOutcome.missed
    return RunOutcome.late if lateness > late_after else RunOutcome.on_time


def instant_key(instant: datetime) -> str:
    """The scheduled time as it appears in claim keys: UTC, to the second."""
    return instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Fire:
    """A published fire, kept in Redis until rest_service has recorded it."""

    job_id: str
    job_type: str
    scheduled_for: datetime
    published_at: datetime
    outcome: RunOutcome
    message_id: str
    user_id: str | None
    chat_id: int
    one_off: bool
    #: What the user was sent, for their conversation; None when the assistant answers.
    sent_text: str | None
    #: The channel it fires in (a fire kept by an older version: Telegram).
    channel: Channel = Channel.TELEGRAM
    #: An urgent reminder's: the occurrence it is of, and which repeat (0: the first fire).
    occurrence: datetime | None = None
    repeat: int = 0

    @property
    def key(self) -> str:
        return f"{self.job_id}:{instant_key(self.scheduled_for)}"

    @property
    def lateness(self) -> timedelta:
        return self.published_at - self.scheduled_for

    @property
    def stream(self) -> str:
        """Where it was published (as `compose` decides): its claim and record live there."""
        prompt = self.job_type == CronJobType.assistant_prompt
        notified = answer_stream(self.channel)
        return TO_SECRETARY if prompt and self.outcome != RunOutcome.missed else notified

    def to_json(self) -> str:
        fields = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        return json.dumps(fields, default=_encode)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Fire:
        data = json.loads(raw)
        data.pop("next_run_at", None)  # written by versions that wrote it back themselves
        for name in ("scheduled_for", "published_at", "occurrence"):
            if data.get(name) is not None:
                data[name] = datetime.fromisoformat(data[name])
        data["outcome"] = RunOutcome(data["outcome"])
        data["channel"] = Channel(data.get("channel", Channel.TELEGRAM))
        return cls(**data)


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True)
class FireRules:
    late_after: timedelta
    grace: timedelta


#: A fire ready to go: the stream, the message, the record.
Composed = tuple[str, IncomingMessage | OutgoingMessage, Fire]


def compose(job: PlannedJob, scheduled_for: datetime, now: datetime, rules: FireRules) -> Composed:
    """The stream, the message and the fire record of one occurrence of `job`."""
    outcome = classify(now - scheduled_for, rules.late_after, rules.grace)
    message_id = fire_message_id(job.id, scheduled_for)
    due = texts.local_time(scheduled_for, job.tz, now)
    occurrence, repeat = job.occurrence_of(scheduled_for)
    urgent = _Urgent(occurrence, repeat) if job.repeats else None
    stream, message, sent = _message(job, outcome, message_id, due, urgent)
    fire = Fire(
        job_id=job.id,
        job_type=str(job.job.type),
        scheduled_for=scheduled_for,
        published_at=now,
        outcome=outcome,
        message_id=str(message_id),
        user_id=str(job.job.user_id) if job.job.user_id else None,
        chat_id=job.job.chat_id,
        one_off=job.one_off,
        sent_text=sent,
        channel=job.job.channel,
        occurrence=urgent.occurrence if urgent else None,
        repeat=urgent.repeat if urgent else 0,
    )
    return stream, message, fire


@dataclass(frozen=True)
class _Urgent:
    occurrence: datetime
    repeat: int


def _message(
    job: PlannedJob, outcome: RunOutcome, message_id: UUID, due: str, urgent: _Urgent | None
) -> tuple[str, IncomingMessage | OutgoingMessage, str | None]:
    prompt = job.job.type == CronJobType.assistant_prompt
    if prompt and outcome != RunOutcome.missed:
        return TO_SECRETARY, _prompt(job, message_id), None
    if outcome == RunOutcome.missed:
        key = "missed_prompt" if prompt else "missed_reminder"
    elif urgent is not None:  # says it is urgent, late or not: the repeats are the point
        key = "urgent_repeat" if urgent.repeat else "urgent"
    else:
        key = "late" if outcome == RunOutcome.late else "reminder"
    repeat, of = (urgent.repeat, job.job.max_repeats) if urgent else (0, 0)
    text = texts.render(key, job.text, due, repeat=repeat, of=of)
    notification = OutgoingMessage(
        message_id=message_id,
        chat_id=job.job.chat_id,
        text=text,
        kind=OutgoingKind.NOTIFICATION,
        correlation_id=job.id,
        bot_id=job.job.bot_id,
        channel=job.job.channel,
        channel_chat_id=job.job.channel_chat_id,
        # Snooze and Done under a reminder, labelled in the language its text is in.
        # Done under every fire of an urgent one acknowledges that occurrence.
        buttons=[]
        if prompt
        else fired_reminder_buttons(
            job.id, texts.language(job.text), urgent.occurrence if urgent else None
        ),
    )
    return answer_stream(job.job.channel), notification, text


def _prompt(job: PlannedJob, message_id: UUID) -> IncomingMessage:
    """The stored prompt, sent on the user's behalf so the secretary answers with fresh data;
    framed as a briefing, so the answer is one short message made with the tools."""
    user_id, chat_id = job.job.user_id, job.job.chat_id
    if user_id is None:
        raise ValueError("an assistant_prompt job needs a user_id")
    return IncomingMessage(
        message_id=message_id,
        source=Source.CRON,
        chat_id=chat_id,
        chat_type=ChatType.GROUP if chat_id < 0 else ChatType.PRIVATE,
        user_id=user_id,
        text=texts.render("briefing", job.text, ""),
        bot_id=job.job.bot_id,
        channel=job.job.channel,
        channel_chat_id=job.job.channel_chat_id,
        reply_stream=answer_stream(job.job.channel),
    )


class FireLedger:
    """Claims and publishes fires in one step; tracks the ones not yet recorded."""

    def __init__(self, redis: aioredis.Redis, names: Names, claim_ttl: timedelta) -> None:
        self._redis = redis
        self._names = names
        self._ttl = max(1, int(claim_ttl.total_seconds()))
        self._script = redis.register_script(_CLAIM_AND_PUBLISH)

    async def claim_and_publish(
        self, stream: str, message: IncomingMessage | OutgoingMessage, fire: Fire
    ) -> bool:
        """False when the fire was already claimed (by us earlier, or by another instance)."""
        [claimed] = await self.claim_and_publish_many([(stream, message, fire)])
        return claimed

    async def claim_and_publish_many(self, fires: list[Composed]) -> list[bool]:
        """Many fires, one call per stream; each is claimed and sent, or skipped, atomically."""
        sent = [False] * len(fires)
        fresh = await self._not_claimed_elsewhere(fires)
        by_stream: dict[str, list[int]] = {}
        for index, (stream, _, _) in enumerate(fires):
            if fresh[index]:
                by_stream.setdefault(stream, []).append(index)
        for stream, indexes in by_stream.items():
            keys = [self._names.stream(stream), self._names.cron_unrecorded_of(stream)]
            args: list[str | int] = [self._ttl]
            for index in indexes:
                _, message, fire = fires[index]
                keys.append(self._claim(stream, fire))
                args += [fire.message_id, message.model_dump_json(), fire.key, fire.to_json()]
            for index, done in zip(indexes, await self._script(keys=keys, args=args), strict=True):
                sent[index] = bool(done)
        return sent

    def _claim(self, stream: str, fire: Fire) -> str:
        return self._names.fire_claim(stream, fire.job_id, instant_key(fire.scheduled_for))

    async def _not_claimed_elsewhere(self, fires: list[Composed]) -> list[bool]:
        """False for a briefing claimed on the other stream (a fire published on time and
        recomposed as missed after a crash goes nowhere twice). Each claim lives in its
        stream's slot, so these are read apart from the script."""
        fresh = [True] * len(fires)
        briefings = [
            (index, answer_stream(fire.channel) if stream == TO_SECRETARY else TO_SECRETARY, fire)
            for index, (stream, _, fire) in enumerate(fires)
            if fire.job_type == CronJobType.assistant_prompt
        ]
        if not briefings:
            return fresh
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            for _, other, fire in briefings:
                pipe.exists(self._claim(other, fire))
            found = await pipe.execute()
        for (index, _, _), exists in zip(briefings, found, strict=True):
            fresh[index] = not exists
        return fresh

    def _unrecorded_hashes(self) -> list[str]:
        names = self._names
        streams = (TO_SECRETARY, TO_TELEGRAM, TO_CHANNELS)
        return [names.cron_unrecorded_of(stream) for stream in streams]

    async def unrecorded(self) -> list[Fire]:
        """The fires not yet recorded; an entry that does not parse is logged and dropped."""
        return [fire async for fire in self.iter_unrecorded()]

    async def iter_unrecorded(self) -> AsyncGenerator[Fire, None]:
        """The same, read a page (HSCAN) at a time, so a caller that has enough can stop
        before reading a hash of 100 000 fires."""
        for table in self._unrecorded_hashes():
            async for key, raw in self._redis.hscan_iter(table, count=500):
                try:
                    fire = Fire.from_json(raw)
                except (ValueError, TypeError, KeyError) as exc:
                    log.error("unrecorded_fire_unreadable", key=str(key), error=str(exc))
                    await self._redis.hdel(table, key)
                else:
                    yield fire

    async def count_unrecorded(self) -> int:
        return sum([int(await self._redis.hlen(table)) for table in self._unrecorded_hashes()])

    async def take_recording(self, fire: Fire, lease: timedelta) -> bool:
        """True when this instance may record the fire now (no other instance is at it)."""
        key = self._names.cron_recording(fire.stream, fire.key)
        return bool(await self._redis.set(key, "1", nx=True, px=int(lease.total_seconds() * 1000)))

    async def is_unrecorded(self, fire: Fire) -> bool:
        """False once an instance has recorded it: another's sweep may have queued it while it
        was being recorded, and recording it again would only load rest_service."""
        return bool(
            await self._redis.hexists(self._names.cron_unrecorded_of(fire.stream), fire.key)
        )

    async def mark_recorded(self, fire: Fire) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._names.cron_unrecorded_of(fire.stream), fire.key)
            pipe.delete(self._names.cron_recording(fire.stream, fire.key))
            await pipe.execute()
