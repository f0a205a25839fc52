"""Alerts before calendar events: for each user who asked for them (`event_alert_minutes` > 0,
set by the `reminder` tool's event_alerts), a look ahead in all their calendars every
EVENT_ALERT_INTERVAL_SECONDS; an event that starts within the lead gets one alert.

The once-only record is keyed by the event's id, never its time: an event moved after its
alert is not announced again, and one moved before it is announced at its new time. The
claim and the send are one Redis script, so two assistant instances (or a restart) send an
alert once. It runs here because the assistant already calls google_calendar_service;
cron_service holds no calendar right.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis.asyncio as aioredis

from common.features.calendar_client import CalendarClient, CalendarNotConnected, Event
from common.features.texts import TEXTS
from common.features.timezones import zone_or_default
from common.infrastructure.channels import Channel, ChannelAddress, answer_stream
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import AppError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User

log = get_logger(__name__)


@dataclass(frozen=True)
class Address:
    """Where a person's alerts go: the channel, its chat number, its own conversation id."""

    channel: Channel
    chat_id: int
    channel_chat_id: str | None


#: How long an event's alert is remembered: an event moved further than this is announced again.
CLAIM_TTL = timedelta(days=30)
_PAGE = 1000
_NAMESPACE = uuid.UUID("7d0f3b1e-5a52-4c1e-9f8e-2f7e0c1a9b31")

# KEYS: the claim, the stream (one slot: `Names.event_alert`). ARGV: the claim TTL (s), the
# message. 1 when sent now.
_CLAIM_AND_SEND = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
  return 1
end
return 0
"""


def due(events: list[Event], now: datetime, lead: timedelta) -> list[tuple[Event, datetime]]:
    """The timed events (not all-day, not cancelled) starting after `now` and within `lead`."""
    found = []
    for event in events:
        if event.all_day or event.status == "cancelled":
            continue
        try:
            start = datetime.fromisoformat(event.start)
        except ValueError:
            continue
        if start.tzinfo is not None and now < start <= now + lead:
            found.append((event, start))
    return found


def alert_text(user: User, event: Event, start: datetime, now: datetime) -> str:
    local = start.astimezone(zone_or_default(user.timezone, "UTC"))
    minutes = max(1, round((start - now).total_seconds() / 60))
    summary = event.summary or "—"
    return TEXTS.text(
        user.language, "alert.event", minutes=minutes, time=f"{local:%H:%M}", summary=summary
    )


class EventAlerts:
    def __init__(
        self,
        rest: RestClient,
        calendar: CalendarClient,
        redis: aioredis.Redis,
        names: Names,
        interval: timedelta,
    ) -> None:
        self._rest = rest
        self._calendar = calendar
        self._names = names
        self._redis = redis
        self._interval = interval
        self._script = redis.register_script(_CLAIM_AND_SEND)

    async def run(self, stop: asyncio.Event) -> None:
        """A sweep every interval until `stop`; a failed sweep is logged and tried again."""
        while not stop.is_set():
            try:
                await self.sweep(utcnow())
            except Exception as exc:  # rest_service or Redis away: the next sweep catches up
                log.warning("event_alerts_failed", error=str(exc), error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval.total_seconds())

    async def sweep(self, now: datetime) -> int:
        """Alerts sent now, for every user who wants them."""
        sent = 0
        async for user in self._users():
            sent += await self._for_user(user, now)
        return sent

    async def _users(self) -> AsyncIterator[User]:
        offset = 0
        while True:
            page = await self._rest.list_users(
                event_alerts=True, blocked=False, limit=_PAGE, offset=offset
            )
            for user in page:
                yield user
            if len(page) < _PAGE:
                return
            offset += _PAGE

    async def _for_user(self, user: User, now: datetime) -> int:
        address = await self._address(user)
        if address is None:  # no Telegram, and no other channel heard from them lately
            return 0
        lead = timedelta(minutes=user.event_alert_minutes)
        until = now + lead + self._interval
        try:
            found = await self._calendar.list_events(
                str(user.id), now.isoformat(), until.isoformat()
            )
        except CalendarNotConnected:
            return 0
        except AppError as exc:  # one user's calendar failing leaves the others alone
            log.warning("event_alerts_calendar_failed", user_id=str(user.id), error=str(exc))
            return 0
        sent = 0
        for event, start in due(found.events, now, lead):
            sent += await self._send(user, address, event, start, now)
        return sent

    async def _address(self, user: User) -> Address | None:
        """Telegram's chat when they have one; else the channel they last wrote from."""
        if user.telegram_id is not None:
            return Address(Channel.TELEGRAM, user.telegram_id, None)
        raw = await self._redis.get(self._names.channel_home(str(user.id)))
        home = ChannelAddress.parse(raw) if raw is not None else None
        if home is None:
            return None
        return Address(home.channel, home.chat_id, home.channel_chat_id)

    async def _send(
        self, user: User, address: Address, event: Event, start: datetime, now: datetime
    ) -> int:
        key = f"{user.id}:{event.id}"
        message = OutgoingMessage(
            message_id=uuid.uuid5(_NAMESPACE, key),
            chat_id=address.chat_id,
            text=alert_text(user, event, start, now),
            kind=OutgoingKind.NOTIFICATION,
            correlation_id=f"event:{event.id}",
            channel=address.channel,
            channel_chat_id=address.channel_chat_id,
        )
        stream = answer_stream(address.channel)
        keys = [self._names.event_alert(key, stream), self._names.stream(stream)]
        args: list[str | int] = [int(CLAIM_TTL.total_seconds()), message.to_json()]
        sent = int(await self._script(keys=keys, args=args))
        if sent:
            log.info("event_alert_sent", user_id=str(user.id), event_id=event.id)
        return sent
