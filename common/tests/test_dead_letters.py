"""A dead-letter id is per stream: when both dead streams hold the same id, replay asks
which one instead of taking the first (it once replayed the other stream's entry). The
Telegram updates tg_bot could not queue are dead letters too: listed, shown and purged, but
not replayed onto a stream nobody reads."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis

from common.infrastructure.dead_letters import (
    AmbiguousDeadLetter,
    DeadLetterNotFound,
    NotReplayable,
    find_dead,
    list_dead,
    purge,
    replay,
)
from common.infrastructure.redis_keys import TELEGRAM_UPDATES, TO_SECRETARY, TO_TELEGRAM, Names
from common.infrastructure.streams import DEAD_LETTERED
from tests.streams import Fields, xrange_entries


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    sync = redis.Redis.from_url(redis_url)
    yield sync
    sync.close()


def _dead(client: redis.Redis, names: Names, stream: str, text: str) -> None:
    fields: Fields = {"data": json.dumps({"text": text}), "stream": stream, "error": "boom"}
    client.xadd(names.dead(stream), fields, id="1700000000000-0")


def test_an_id_in_both_dead_streams_is_replayed_only_from_the_named_one(
    client: redis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    _dead(client, names, TO_SECRETARY, "to the secretary")
    _dead(client, names, TO_TELEGRAM, "to telegram")

    with pytest.raises(AmbiguousDeadLetter, match="name one"):
        replay(client, names, "1700000000000-0")
    assert client.xlen(names.dead(TO_SECRETARY)) == client.xlen(names.dead(TO_TELEGRAM)) == 1

    replay(client, names, "1700000000000-0", TO_TELEGRAM)
    [(_, fields)] = xrange_entries(client.xrange(names.stream(TO_TELEGRAM)))
    assert json.loads(fields[b"data"]) == {"text": "to telegram"}
    assert client.xlen(names.dead(TO_TELEGRAM)) == 0
    assert client.xlen(names.stream(TO_SECRETARY)) == 0

    # Now only one stream holds it: no stream needed.
    stream, entry = find_dead(client, names, "1700000000000-0")
    assert stream == TO_SECRETARY and entry["id"] == "1700000000000-0"


def test_an_update_tg_bot_could_not_queue_is_listed_and_purged_but_not_replayed(
    client: redis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    _dead(client, names, TELEGRAM_UPDATES, "an update")
    _dead(client, names, TO_SECRETARY, "a message")

    listed = {(row["stream"], row["id"]) for row in list_dead(client, names)}
    assert (TELEGRAM_UPDATES, "1700000000000-0") in listed
    stream, _ = find_dead(client, names, "1700000000000-0", TELEGRAM_UPDATES)
    assert stream == TELEGRAM_UPDATES

    with pytest.raises(NotReplayable, match="Telegram"):
        replay(client, names, "1700000000000-0", TELEGRAM_UPDATES)
    assert client.xlen(names.dead(TELEGRAM_UPDATES)) == 1
    assert not client.exists(names.stream(TELEGRAM_UPDATES)), "nothing reads that stream"

    assert purge(client, names) == 2
    assert list_dead(client, names) == []


def test_a_stream_that_is_not_a_queue_is_refused_naming_the_queues(
    client: redis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    _dead(client, names, TO_TELEGRAM, "to telegram")
    with pytest.raises(DeadLetterNotFound, match=f"nope is not one of .*{TO_TELEGRAM}"):
        find_dead(client, names, "1700000000000-0", "nope")
    assert client.xlen(names.dead(TO_TELEGRAM)) == 1


def test_every_dead_lettered_stream_of_the_registry_is_listed(
    client: redis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    for stream in DEAD_LETTERED:
        _dead(client, names, stream, f"on {stream}")
    assert sorted(row["stream"] for row in list_dead(client, names)) == sorted(DEAD_LETTERED)
