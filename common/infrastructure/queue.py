"""The reliable stream queue (docs/contract.md "Queues").

At-least-once delivery over a Redis consumer group, answered once:

* An entry is read and registered in the stream's backlog (one sorted set, members
  `<chat>|<padded entry id>`, so a chat's members sort by entry id) in one Lua call, so no
  reader can slip a later entry of a chat ahead of an earlier one.
* Whoever holds the chat's lock (a Redis key with a heartbeat) drains that backlog in order,
  so one chat is handled one message at a time across processes, while other chats proceed
  concurrently up to a bound.
* A handled entry is recorded `done:<stream>:<message_id>` first, then acked and deleted
  in one transaction; a redelivered message with a `done:` record is dropped (a crash between
  the two: the entry is redelivered and dropped so).
* An entry left pending by a dead consumer is claimed (XAUTOCLAIM) and driven again.
* A stopping consumer finishes its chats' current entries within the grace, cancels the rest,
  and hands back what it leaves (its pending entries, the first entry of each chat it stopped
  driving) in a list every consumer's read takes first: another replica carries on at once.
* A payload that does not parse, or an entry with a field that is not UTF-8, goes to
  `<stream>:dead` at once (undecodable bytes kept as base64); a handler that keeps failing goes
  there after `max_deliveries` attempts, with the last error; one that raises `Undeliverable`
  goes there at once, with its reason. An `on_dead` hook runs first, so
  a service can tell the user (a message is never only a dead letter). The dead letter is
  added before the entry is acked, so a crash between the two at worst dead-letters it twice.
* Nothing an entry does can kill its chat's worker: an unexpected error dead-letters the entry,
  a failure of the drive itself is logged, the lock released, and the chat driven again.

Redis Cluster: every key a script or transaction touches is declared in KEYS and
lives in the stream's slot (the stream, its backlog, chat locks, attempt counters and last
errors: `Names.tagged` on the stream key). The contract keys in other slots (`done:…`,
`<stream>:dead`) are written on their own, in the order above.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT, FieldT

from common.infrastructure import tracing
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.metrics import zeroed
from common.infrastructure.queue_messages import QueueMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.redis_lock import RedisLock
from common.infrastructure.retry import RetryPolicy
from common.infrastructure.text import clean_tree

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[M], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetter(Generic[M]):
    """An entry about to be dead-lettered, for the `on_dead` hook."""

    stream: str
    entry_id: str
    reason: str
    attempts: int
    data: str  # the `data` field as text (undecodable bytes escaped)
    message: M | None  # None when the payload did not parse


DeadHook = Callable[[DeadLetter[M]], Awaitable[None]]


@dataclass(frozen=True)
class EntryFields:
    """A stream entry's fields as text; `unreadable` names the fields that were not UTF-8."""

    fields: dict[str, str]
    unreadable: list[str]
    raw_b64: dict[str, str]  # every field's exact bytes (base64), kept when one was unreadable


def read_fields(flat: list[Any]) -> EntryFields:
    """Decode a flat [name, value, ...] list without ever raising on bad bytes."""
    fields: dict[str, str] = {}
    unreadable: list[str] = []
    raw: dict[str, str] = {}
    for i in range(0, len(flat) - 1, 2):
        name_bytes, value_bytes = _bytes(flat[i]), _bytes(flat[i + 1])
        name = name_bytes.decode("utf-8", "backslashreplace")
        raw[name] = base64.b64encode(value_bytes).decode("ascii")
        try:
            name_bytes.decode("utf-8")
            fields[name] = value_bytes.decode("utf-8")
        except UnicodeDecodeError:
            unreadable.append(name)
            fields[name] = value_bytes.decode("utf-8", "backslashreplace")
    return EntryFields(fields, unreadable, raw if unreadable else {})


#: Where `QUEUE_FAILURES` counts an error kept from killing a chat's worker.
QUEUE_FAILURE_PLACES = ("read", "claim", "drive", "entry", "on_dead", "on_duplicate")
QUEUE_FAILURES = Counter(
    "smart_assistant_queue_failures_total",
    "Unexpected errors kept from killing a chat's worker",
    ["stream", "where"],
)

HANDLED = Counter(
    "smart_assistant_queue_entries_total",
    "Stream entries finished, by outcome",
    ["stream", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "smart_assistant_queue_handle_seconds",
    "Time to handle one stream entry",
    ["stream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
#: From an entry's XADD (its id's milliseconds, Redis's clock) to a consumer taking it the
#: first time (this host's clock: a skew between the two shows here, and a wait below 0 is 0).
QUEUE_WAIT_SECONDS = Histogram(
    "smart_assistant_queue_wait_seconds",
    "Time a stream entry waited before a consumer took it, by stream",
    ["stream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def waited_seconds(entry_id: str, now: float) -> float:
    """How long the entry `entry_id` (`<ms>-<seq>`) waited until `now` (epoch seconds)."""
    return max(0.0, now - int(entry_id.partition("-")[0]) / 1000)


# Reads (or claims) entries and registers each in the stream's backlog (KEYS[2]) as
# `<chat>|<padded id>`, atomically, so a chat's backlog order is the stream order.
# Returns {entry_id, chat} pairs.
_REGISTER = """
local function pad(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return string.rep('0', 20 - #ms) .. ms .. '-' .. string.rep('0', 20 - #seq) .. seq
end
local function register(entries, backlog, chat_field)
  local out = {}
  for _, e in ipairs(entries) do
    local id, fields = e[1], e[2]
    local chat = '!' .. id
    if type(fields) == 'table' then
      for j = 1, #fields, 2 do
        if fields[j] == 'data' then
          local ok, obj = pcall(cjson.decode, fields[j + 1])
          if ok and type(obj) == 'table' then
            local v = obj[chat_field]
            if type(v) == 'number' and v == v and v > -1e18 and v < 1e18 then
              chat = string.format('%d', v)
            elseif type(v) == 'string' and #v <= 64 and string.match(v, '^[%w_:.-]+$') then
              chat = v
            end
          end
        end
      end
      redis.call('ZADD', backlog, 0, chat .. '|' .. pad(id))
      out[#out + 1] = {id, chat}
    end
  end
  return out
end
"""

# Entries a stopping consumer handed back (KEYS[3], a list of entry ids) come first: claimed
# for this consumer and registered, so another replica takes them within one read, not after
# the claim delay. An id no longer pending (handled meanwhile) is skipped by XCLAIM.
_READ = (
    _REGISTER
    + """
local back = redis.call('LPOP', KEYS[3], ARGV[3])
if back then
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(back))
  if #claimed > 0 then return {'', register(claimed, KEYS[2], ARGV[4])} end
end
local res = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
                       'STREAMS', KEYS[1], '>')
if res and res[1] and #res[1][2] > 0 then
  return {'', register(res[1][2], KEYS[2], ARGV[4])}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return {info[i + 1], {}} end
end
return {'0-0', {}}
"""
)

_CLAIM = (
    _REGISTER
    + """
local res = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[5],
                       'COUNT', ARGV[6])
return {res[1], register(res[2], KEYS[2], ARGV[4])}
"""
)

# The first backlog member of chat ARGV[1] (a lex range: members are `<chat>|<padded id>`).
_FIRST_OF_CHAT = """
local function first_of(backlog, chat)
  return redis.call('ZRANGEBYLEX', backlog, '[' .. chat .. '|', '(' .. chat .. '|\\255',
                    'LIMIT', 0, 1)
end
"""

# The chat's next backlog member and its stream entry (none if the entry is gone), in one
# round trip: {member, entries}; or {} when the chat has nothing in the backlog, and then
# the chat's lock (KEYS[3]) is released in the same step (an entry registered after it
# finds the lock free). With ARGV[4] = '1' the lock is taken first ('busy' when another
# consumer holds it); else it must still be ours ('lost' when it expired while Redis was
# away, and another consumer may drive the chat now) and is renewed. Taking and releasing
# the lock inside this call saves a drive two round trips.
_NEXT = (
    _FIRST_OF_CHAT
    + """
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return 'busy' end
else
  if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 'lost' end
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
local members = first_of(KEYS[2], ARGV[1])
if #members == 0 then
  redis.call('DEL', KEYS[3])
  return {}
end
local ms, seq = string.match(members[1], '|0*(%d+)-0*(%d+)$')
local id = ms .. '-' .. seq
return {members[1], redis.call('XRANGE', KEYS[1], id, id)}
"""
)


# A stopping consumer hands back (RPUSH to KEYS[3], kept ARGV[4] ms) every entry still
# pending for it (ARGV[1] group, ARGV[2] consumer, at most ARGV[3]) and the first backlog
# entry of each chat it stopped driving (ARGV[5...]): whoever takes that one drives the chat,
# including entries another consumer read while this one held the chat's lock.
_HAND_BACK = (
    _FIRST_OF_CHAT
    + """
local ids, seen = {}, {}
local function add(id)
  if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
end
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[3], ARGV[2])) do
  add(p[1])
end
for i = 5, #ARGV do
  local members = first_of(KEYS[2], ARGV[i])
  if #members > 0 then
    local ms, seq = string.match(members[1], '|0*(%d+)-0*(%d+)$')
    add(ms .. '-' .. seq)
  end
end
for i = 1, #ids, 500 do
  redis.call('RPUSH', KEYS[3], unpack(ids, i, math.min(i + 499, #ids)))
end
if #ids > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
return #ids
"""
)


def _unpad(member: str) -> str:
    """The entry id of a backlog member `<chat>|<padded id>`."""
    ms, seq = member.rpartition("|")[2].split("-")
    return f"{int(ms)}-{int(seq)}"


def consumer_name(service: str) -> str:
    """Unique per process, so a restarted process never inherits a dead one's pending list."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class ConsumerConfig:
    max_deliveries: int = 5
    claim_idle_ms: int = 30_000
    claim_interval_s: float = 5.0
    concurrency: int = 16
    read_count: int = 64
    block_ms: int = 250  # also bounds how long stop() waits for a blocked read
    lock_ttl_ms: int = 15_000
    done_ttl_s: int = 7 * 24 * 3600
    retry_base_s: float = 0.2
    retry_max_s: float = 10.0


def _redelivery(cfg: ConsumerConfig) -> RetryPolicy:
    """The waits between a failed handler's attempts: no jitter, since entries fail one by
    one; their count is kept in Redis (a redelivery after a crash goes on counting)."""
    return RetryPolicy(cfg.max_deliveries - 1, cfg.retry_base_s, cfg.retry_max_s, floor=1.0)


class StreamPublisher:
    """Adds message models to streams as `{"data": <json>}` entries."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self._redis = redis
        self._names = names

    async def publish(self, stream: str, message: BaseModel) -> str:
        """`stream` is the logical (unprefixed) name; returns the entry id."""
        data = message.to_json() if isinstance(message, QueueMessage) else message.model_dump_json()
        entry_id = await self._redis.xadd(self._names.stream(stream), {"data": data})
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def publish_raw(self, stream: str, fields: dict[FieldT, EncodableT]) -> str:
        entry_id = await self._redis.xadd(self._names.stream(stream), fields)
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


class StreamConsumer(Generic[M]):
    """Consumes one stream in one consumer group; see the module docstring."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        stream: str,
        group: str,
        model: type[M],
        handler: Handler[M],
        *,
        consumer: str | None = None,
        config: ConsumerConfig | None = None,
        chat_field: str = "chat_id",
        on_dead: DeadHook[M] | None = None,
        on_duplicate: Handler[M] | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """`retry_sleep`: how a handler's retry delay is spent (a test's clock); by default
        it is waited out, cut short by `stop`."""
        self._retry_sleep = retry_sleep
        self._redis = redis
        self._names = names
        self.stream = stream
        zeroed(HANDLED, *((stream, outcome) for outcome in ("handled", "duplicate", "dead")))
        zeroed(QUEUE_FAILURES, *((stream, where) for where in QUEUE_FAILURE_PLACES))
        zeroed(QUEUE_WAIT_SECONDS, stream)
        self._key = names.stream(stream)
        self.group = group
        self._model = model
        self._handler = handler
        self.consumer = consumer or consumer_name(group)
        self.config = config or ConsumerConfig()
        self._chat_field = chat_field
        self._on_dead = on_dead
        #: Runs for an entry dropped as a duplicate (what it held can go: its blobs).
        self._on_duplicate = on_duplicate
        self._backlog = names.chat_backlog(stream)
        # The entries stopping consumers handed back; in the stream's slot.
        self._handed_back = names.tagged(self._key, "handed_back")
        self._read = redis.register_script(_READ)
        self._hand_back_script = redis.register_script(_HAND_BACK)
        self._claim = redis.register_script(_CLAIM)
        self._next = redis.register_script(_NEXT)
        self._cluster = isinstance(redis, RedisCluster)
        self._drives: dict[str, asyncio.Task[None]] = {}
        self._kick: set[str] = set()
        self._slots = asyncio.Event()
        self._stopping = asyncio.Event()
        #: Chats whose drive stopped (shutdown) before their backlog ran dry.
        self._left: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._key, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _group_made(self) -> bool:
        """The group, once Redis answers: a service started while Redis is down (both
        restarted together, a slow node) waits for it rather than ending its consumer for
        the life of the process. False when stopped first. A refusal (a key of another
        type) is raised: that is no outage to wait out."""
        while not self._stopping.is_set():
            try:
                await self.ensure_group()
            except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                log.warning("queue_group_unavailable", stream=self.stream, error=str(exc)[:200])
                await self._wait_for(self._stopping, 1.0)
                continue
            return True
        return False

    def stop(self) -> None:
        """Stop reading; in-flight chats finish their current entry and release."""
        self._stopping.set()

    @property
    def in_flight(self) -> int:
        return len(self._drives)

    async def run(self) -> None:
        """Read and handle until `stop()`; then finish or release within the grace period."""
        if not await self._group_made():
            return
        claimer = asyncio.create_task(self._claim_loop())
        try:
            await self._read_loop()
        finally:
            claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claimer

    async def drain(self, grace_s: float) -> None:
        """Wait for in-flight chats; cancel (and so release) what is left after `grace_s`,
        then hand back every entry not finished, for another consumer's next read."""
        tasks = list(self._drives.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self.hand_back()

    async def hand_back(self) -> int:
        """Hand back what this consumer leaves unfinished (its pending entries, and the chats
        it stopped driving); how many entries. Redis unreachable: they are claimed after the
        claim delay instead."""
        try:
            count = await self._hand_back_script(
                keys=[self._key, self._backlog, self._handed_back],
                args=[
                    self.group,
                    self.consumer,
                    10_000,
                    self.config.done_ttl_s * 1000,
                    *sorted(self._left),
                ],
            )
        except aioredis.RedisError as exc:
            log.warning("queue_hand_back_failed", stream=self.stream, error=str(exc))
            return 0
        if count:
            log.info("queue_handed_back", stream=self.stream, entries=count)
        return int(count)

    # -- reading -----------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            free = cfg.concurrency - len(self._drives)
            if free <= 0:
                self._slots.clear()
                await self._wait_for(self._slots, cfg.block_ms / 1000)
                continue
            try:
                last_id, entries = await self._read(
                    keys=[self._key, self._backlog, self._handed_back],
                    args=[self.group, self.consumer, min(free, cfg.read_count), self._chat_field],
                )
            except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                log.warning("queue_read_failed", stream=self.stream, error=str(exc))
                await self._wait_for(self._stopping, 1.0)
                continue
            except aioredis.ResponseError as exc:
                if "NOGROUP" in str(exc) or "no such key" in str(exc):
                    await self.ensure_group()
                else:  # e.g. a key of the wrong type: reading must outlive it
                    QUEUE_FAILURES.labels(self.stream, "read").inc()
                    log.error("queue_read_refused", stream=self.stream, error=str(exc)[:300])
                    await self._wait_for(self._stopping, 1.0)
                continue
            if entries:
                for _entry_id, chat in entries:
                    self._schedule(_text(chat))
                continue
            await self._wait_for_new_entries(_text(last_id))

    async def _wait_for_new_entries(self, last_id: str) -> None:
        try:
            await self._redis.xread({self._key: last_id}, count=1, block=self.config.block_ms)
        except (aioredis.ConnectionError, aioredis.TimeoutError):
            await self._wait_for(self._stopping, 1.0)

    async def _claim_loop(self) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            await self._wait_for(self._stopping, cfg.claim_interval_s)
            if self._stopping.is_set():
                return
            try:
                await self.claim_stale()
            except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                log.warning("queue_claim_failed", stream=self.stream, error=str(exc))
            except Exception:  # claiming must outlive anything one round runs into
                QUEUE_FAILURES.labels(self.stream, "claim").inc()
                log.exception("queue_claim_failed", stream=self.stream)

    async def claim_stale(self) -> int:
        """Claim entries idle longer than `claim_idle_ms` (their consumer died) and drive
        their chats. Returns how many were claimed."""
        start, claimed = "0-0", 0
        while True:
            start, entries = await self._claim(
                keys=[self._key, self._backlog],
                args=[
                    self.group,
                    self.consumer,
                    self.config.claim_idle_ms,
                    self._chat_field,
                    start,
                    100,
                ],
            )
            for entry_id, chat in entries:
                log.info("queue_entry_claimed", stream=self.stream, entry_id=_text(entry_id))
                self._schedule(_text(chat))
            claimed += len(entries)
            if _text(start) == "0-0" or not entries:
                return claimed

    def _schedule(self, chat: str) -> None:
        # A drive that has returned but whose done-callback has not run yet no longer looks
        # at `_kick`: a kick for it would be lost, so start a new drive instead.
        running = self._drives.get(chat)
        if running is not None and not running.done():
            self._kick.add(chat)
            return
        task = asyncio.create_task(self._drive(chat))
        self._drives[chat] = task
        task.add_done_callback(functools.partial(self._drive_done, chat))

    def _drive_done(self, chat: str, task: asyncio.Task[None]) -> None:
        if self._drives.get(chat) is task:
            del self._drives[chat]
        self._slots.set()

    # -- one chat at a time ------------------------------------------------------------------

    async def _drive(self, chat: str) -> None:
        """Drive the chat until its backlog is drained; an unexpected error (Redis gone, a
        bug) is logged and the chat driven again after a pause, so no chat is left stuck."""
        while True:
            try:
                await self._drive_chat(chat)
                return
            except Exception:
                QUEUE_FAILURES.labels(self.stream, "drive").inc()
                log.exception("queue_chat_drive_failed", stream=self.stream, chat=chat)
                await self._wait_for(self._stopping, 1.0)
                if self._stopping.is_set():
                    return

    async def _drive_chat(self, chat: str) -> None:
        """Drain the chat's backlog in order while holding its lock; another process that
        holds the lock drains it instead."""
        key = self._names.chat_lock(self.stream, chat)
        while True:
            self._kick.discard(chat)
            if self._stopping.is_set():
                return
            lock = RedisLock(self._redis, key, self.config.lock_ttl_ms)
            heartbeat: asyncio.Task[None] | None = None
            released = False
            try:
                found = await self._next_of(chat, lock, take=True)
                if isinstance(found, bytes | str) and _text(found) == "busy":
                    released = True  # never ours: its holder drains the chat
                else:
                    heartbeat = asyncio.create_task(self._heartbeat(lock))
                    released = await self._drain_backlog(lock, chat, found)
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
                if not released:
                    if self._stopping.is_set():
                        self._left.add(chat)
                    await lock.release()
            if chat not in self._kick or self._stopping.is_set():
                return

    async def _next_of(self, chat: str, lock: RedisLock, take: bool = False) -> Any:
        """`_NEXT`'s answer for the chat; `take`: the lock is taken in the same step."""
        return await self._next(
            keys=[self._key, self._backlog, lock.key],
            args=[chat, lock.token, lock.ttl_ms, "1" if take else "0"],
        )

    async def _drain_backlog(self, lock: RedisLock, chat: str, found: Any) -> bool:
        """True when the chat's backlog ran dry and the lock was released with it.
        `found`: the answer of the `_NEXT` call that took the lock."""
        while True:
            if isinstance(found, bytes | str):
                log.warning("queue_chat_lock_lost", stream=self.stream, chat=chat)
                return False
            if not found:
                return True
            member, entries = _text(found[0]), found[1]
            await self._guarded_entry(_unpad(member), self._backlog, member, entries)
            if self._stopping.is_set():
                return False
            found = await self._next_of(chat, lock)

    async def _guarded_entry(
        self, entry_id: str, backlog: str, member: str, found: list[Any]
    ) -> None:
        """Handle one entry; an error outside the handler's own retries dead-letters it
        (Redis unreachable: retried), so the entries after it still get their turn."""
        try:
            await self._handle_entry(entry_id, backlog, member, found)
        except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
            log.warning("queue_redis_unavailable", stream=self.stream, error=str(exc))
            await self._wait_for(self._stopping, 1.0)
        except Exception as exc:
            QUEUE_FAILURES.labels(self.stream, "entry").inc()
            log.exception("queue_entry_failed", stream=self.stream, entry_id=entry_id)
            entry = read_fields(found[0][1] if found else [])
            await self._dead_letter(
                entry_id, backlog, member, entry, f"unhandled: {_error_summary(exc)}", 0, None
            )

    async def _heartbeat(self, lock: RedisLock) -> None:
        while True:
            await asyncio.sleep(lock.ttl_ms / 3000)
            with contextlib.suppress(aioredis.RedisError):
                await lock.extend()

    # -- one entry ---------------------------------------------------------------------------

    async def _handle_entry(
        self, entry_id: str, backlog: str, member: str, found: list[Any]
    ) -> None:
        """`found`: XRANGE's answer for the entry, a flat field list per entry (from Lua)."""
        if not found:
            await self._finish(entry_id, backlog, member, done_key=None)
            return
        entry = read_fields(found[0][1])
        if entry.unreadable:
            reason = f"unreadable: not UTF-8 in {', '.join(entry.unreadable)}"[:1000]
            message = None if "data" in entry.unreadable else self._parsed(entry)
            await self._dead_letter(entry_id, backlog, member, entry, reason, 0, message)
            return
        raw = entry.fields.get("data", "")
        try:
            message = self._validate(raw)
        except ValidationError as exc:
            reason = f"malformed: {_error_summary(exc)}"
            await self._dead_letter(entry_id, backlog, member, entry, reason, 0, None)
            return
        message_id = str(getattr(message, "message_id", entry_id))
        done_key = self._names.done(self.stream, message_id)
        with (
            correlation(message_id, stream=self.stream),
            tracing.span(
                f"{self.stream} process",
                kind="consumer",
                attributes={"messaging.destination.name": self.stream, "message.id": message_id},
                carrier=_trace_context(message),
            ),
        ):
            # The done check and the first attempt's count in one round trip (a duplicate's
            # counter is deleted by `_finish` like any other).
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.exists(done_key)
                self._count_attempt(pipe, entry_id)
                done, attempts, _ = await pipe.execute()
            if attempts == 1:
                QUEUE_WAIT_SECONDS.labels(self.stream).observe(
                    waited_seconds(entry_id, time.time())
                )
            if done:
                log.info("queue_duplicate_dropped", entry_id=entry_id)
                HANDLED.labels(self.stream, "duplicate").inc()
                await self._finish(entry_id, backlog, member, done_key=None)
                await self._run_duplicate_hook(message)
                return
            await self._attempt_until_settled(
                message, entry_id, backlog, member, entry, done_key, attempts
            )

    def _count_attempt(self, pipe: Any, entry_id: str) -> None:
        attempts_key = self._names.attempts(self.stream, entry_id)
        pipe.incr(attempts_key)
        pipe.expire(attempts_key, self.config.done_ttl_s)

    def _validate(self, raw: str) -> M:
        """The message in `raw`. JSON may escape a lone surrogate ("\\ud800"), which the
        fast parser refuses: such text is read leniently and cleaned (U+FFFD) instead."""
        try:
            return self._model.model_validate_json(raw)
        except ValidationError as exc:
            try:
                return self._model.model_validate(clean_tree(json.loads(raw)))
            except (ValueError, RecursionError):
                raise exc from None

    def _parsed(self, entry: EntryFields) -> M | None:
        """The message in a readable `data`, so the dead-letter hook can answer its sender."""
        try:
            return self._validate(entry.fields.get("data", ""))
        except ValidationError:
            return None

    async def _attempt_until_settled(
        self,
        message: M,
        entry_id: str,
        backlog: str,
        member: str,
        entry: EntryFields,
        done_key: str,
        counted: int | None = None,
    ) -> None:
        """`counted`: this attempt's number when the caller counted it already."""
        cfg = self.config
        attempts_key = self._names.attempts(self.stream, entry_id)
        error_key = self._names.last_error(self.stream, entry_id)
        while True:
            if counted is not None:
                attempts, counted = counted, None
            else:
                async with self._redis.pipeline(transaction=False) as counting:
                    self._count_attempt(counting, entry_id)
                    attempts, _ = await counting.execute()
            if attempts > cfg.max_deliveries:
                reason = _text(await self._redis.get(error_key) or b"delivery limit reached")
                await self._dead_letter(
                    entry_id, backlog, member, entry, reason, attempts - 1, message
                )
                return
            started = time.perf_counter()
            try:
                await self._handler(message)
            except RetryLater as retry:
                await self._redis.decr(attempts_key)
                log.info("queue_retry_later", entry_id=entry_id, reason=retry.reason)
                await self._retry_wait(retry.delay)
                if self._stopping.is_set():
                    return
                continue
            except Undeliverable as exc:
                reason = f"undeliverable: {exc}"[:1000]
                await self._dead_letter(entry_id, backlog, member, entry, reason, attempts, message)
                return
            except Exception as exc:
                await self._redis.set(error_key, _error_summary(exc), ex=cfg.done_ttl_s)
                log.warning(
                    "queue_handler_failed",
                    entry_id=entry_id,
                    attempt=attempts,
                    error=_error_summary(exc),
                    exc_info=True,
                )
                await self._retry_wait(_redelivery(cfg).wait(attempts))
                if self._stopping.is_set():
                    return
                continue
            HANDLE_SECONDS.labels(self.stream).observe(time.perf_counter() - started)
            await _to_the_end(self._finish_handled(entry_id, backlog, member, done_key))
            HANDLED.labels(self.stream, "handled").inc()
            return

    async def _finish_handled(
        self, entry_id: str, backlog: str, member: str, done_key: str
    ) -> None:
        """Finish a handled entry, retrying while Redis is unreachable (a restart, a Sentinel
        failover): giving up would handle the entry again. On shutdown the entry is left
        pending, for its `done:` record or a new attempt."""
        while True:
            try:
                await self._finish(entry_id, backlog, member, done_key=done_key)
                return
            except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                log.warning("queue_finish_retried", stream=self.stream, error=str(exc))
                await self._wait_for(self._stopping, 0.5)
                if self._stopping.is_set():
                    raise

    async def _finish(self, entry_id: str, backlog: str, member: str, done_key: str | None) -> None:
        """The done record first (its own slot), then ack and forget the entry in one
        same-slot transaction: a crash between them redelivers an entry the record drops.
        On a single Redis (no Cluster slots) the record joins the transaction: one round trip,
        and the record and the ack can no longer come apart."""
        if done_key and self._cluster:
            await self._redis.set(done_key, "1", ex=self.config.done_ttl_s)
            done_key = None
        async with self._redis.pipeline(transaction=True) as tx:
            if done_key:
                tx.set(done_key, "1", ex=self.config.done_ttl_s)
            tx.xack(self._key, self.group, entry_id)
            tx.xdel(self._key, entry_id)
            tx.zrem(backlog, member)
            tx.delete(self._names.attempts(self.stream, entry_id))
            tx.delete(self._names.last_error(self.stream, entry_id))
            await tx.execute()

    async def _dead_letter(
        self,
        entry_id: str,
        backlog: str,
        member: str,
        entry: EntryFields,
        reason: str,
        attempts: int,
        message: M | None,
    ) -> None:
        log.error("queue_dead_lettered", stream=self.stream, entry_id=entry_id, reason=reason)
        HANDLED.labels(self.stream, "dead").inc()
        data = entry.fields.get("data", "")
        dead = dead_letter_record(
            self.stream, data, reason, group=self.group, entry_id=entry_id, attempts=str(attempts)
        )
        if entry.raw_b64:
            dead["raw_b64"] = json.dumps(entry.raw_b64)
        hook_error = await self._run_dead_hook(
            DeadLetter(self.stream, entry_id, reason, attempts, data, message)
        )
        if hook_error:
            dead["on_dead_error"] = hook_error
        # The dead stream is in another slot: added first, then the entry acked and
        # forgotten in one same-slot transaction (a crash between: dead-lettered twice).
        await self._redis.xadd(self._names.dead(self.stream), dead)
        async with self._redis.pipeline(transaction=True) as tx:
            tx.xack(self._key, self.group, entry_id)
            tx.xdel(self._key, entry_id)
            tx.zrem(backlog, member)
            tx.delete(self._names.attempts(self.stream, entry_id))
            tx.delete(self._names.last_error(self.stream, entry_id))
            await tx.execute()

    async def _run_duplicate_hook(self, message: M) -> None:
        """A failing hook is logged; the entry is dropped all the same."""
        if self._on_duplicate is None:
            return
        try:
            await self._on_duplicate(message)
        except Exception:
            QUEUE_FAILURES.labels(self.stream, "on_duplicate").inc()
            log.exception("queue_on_duplicate_failed", stream=self.stream)

    async def _run_dead_hook(self, dead: DeadLetter[M]) -> str | None:
        """The hook's error, if it failed: the entry is dead-lettered all the same."""
        if self._on_dead is None:
            return None
        try:
            await self._on_dead(dead)
        except Exception as exc:
            QUEUE_FAILURES.labels(self.stream, "on_dead").inc()
            log.exception("queue_on_dead_failed", stream=self.stream, entry_id=dead.entry_id)
            return _error_summary(exc)
        return None

    async def _retry_wait(self, delay: float) -> None:
        if self._retry_sleep is not None:
            await self._retry_sleep(delay)
        else:
            await self._wait_for(self._stopping, delay)

    @staticmethod
    async def _wait_for(event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


async def _to_the_end(step: Coroutine[Any, Any, None]) -> None:
    """Run `step` to its end even when the caller is cancelled meanwhile (the shutdown grace
    ended), then let the cancellation through: a handled entry's finish cut short leaves the
    entry pending, to be handed back and handled a second time."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        raise


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def _trace_context(message: BaseModel) -> dict[str, str]:
    """The context the producer put in the entry (decision 0069), as a propagator reads it;
    empty (a trace of its own) when it put none."""
    found = getattr(message, tracing.TRACEPARENT, None)
    return {tracing.TRACEPARENT: found} if isinstance(found, str) else {}


def _error_summary(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        errors = [
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()
        ]
        return "; ".join(errors)[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def dead_letter_record(
    stream: str, data: EncodableT, error: str, **context: EncodableT
) -> dict[FieldT, EncodableT]:
    """The fields of an entry of `<stream>:dead`, which `dlq` and the admin read: the payload,
    why it failed, where from (`context`: the group and entry, or the update) and when."""
    record: dict[FieldT, EncodableT] = {"data": data, "error": error, "stream": stream}
    record.update(context.items())
    record["failed_at"] = utcnow().isoformat()
    return record


def dead_entry_summary(fields: dict[bytes | str, bytes | str]) -> dict[str, str]:
    """A dead-letter entry as text (bytes that are not UTF-8 escaped), with the payload's
    message id when it parses."""
    out = {_text(k): _text(v) for k, v in fields.items()}
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        out["message_id"] = str(json.loads(out.get("data", ""))["message_id"])
    return out
