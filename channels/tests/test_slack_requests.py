"""Slack's requests to the adapter, in this process against the Slack stand-in, a real
rest_service and Redis: what is not Slack's JSON is a 400 and Slack's notices are taken
without a message; an event without Slack's event id is still taken once; a press the intake
cannot take is a 500 that Slack's retry mends; a shared file that is too big, off Slack's
file host, refused (a login page, a deleted file) or larger than it said goes without its
bytes, and one fetched for a delivery that failed is not fetched again on the retry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from pydantic import SecretStr

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.slack import SlackAdapter
from channels.src.adapters.slack.adapter import FILE_MAX_BYTES
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.features.blobs import BlobStore
from common.features.buttons import ButtonAction, ButtonData
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.redis_keys import TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
from ops.processes import Stack
from sandbox import slack_events as build
from sandbox.slack_api import SlackStandIn
from tests.streams import stream_entries

Json = dict[str, Any]

#: A rest_service that is not there: the intake cannot take anything.
NO_REST = "http://127.0.0.1:9"


@pytest.fixture
def names() -> Names:
    return Names(f"test:slack-in:{uuid.uuid4().hex[:8]}:")


class Rig:
    """One channels process's Slack adapter, its routes served in this process."""

    def __init__(self, adapter: SlackAdapter, slack: SlackStandIn) -> None:
        self.adapter, self.slack = adapter, slack
        app = FastAPI()
        app.include_router(adapter.router)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://ch")

    async def post(self, path: str, body: bytes, kind: str, retry: int = 0) -> int:
        headers = self.slack.signed_headers(body, kind)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
        return (await self.http.post(path, content=body, headers=headers)).status_code

    async def event(self, payload: Json, retry: int = 0) -> int:
        return await self.post("/slack/events", *build.event_body(payload), retry=retry)

    async def action(self, payload: Json, retry: int = 0) -> int:
        return await self.post("/slack/interactivity", *build.interactivity_body(payload), retry)


Make = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make(
    slack: SlackStandIn,
    redis: aioredis.Redis,
    names: Names,
    module_rest_service: Stack,
    secrets: dict[str, str],
) -> AsyncIterator[Make]:
    """Makes a `Rig` whose intake works (or, `working=False`, cannot reach rest_service),
    fetching files with `token`; all of them share one Redis and one key prefix, as the
    service's processes do."""
    made: list[Rig] = []

    async def rig(*, working: bool = True, token: str | None = None) -> Rig:
        settings = Settings(
            _env_file=None, environment="test", slack_bot_token=SecretStr(token or slack.token),
            slack_signing_secret=SecretStr(slack.signing_secret), slack_api_base=slack.api_base,
        )  # fmt: skip
        url = module_rest_service.processes["rest_service"].url if working else NO_REST
        rest = RestClient(url, secrets["SERVICE_API_TOKEN"], retries=0)
        adapter = SlackAdapter(
            AdapterContext(settings, redis, names, Intake(rest, redis, names), rest)
        )
        await adapter.start()
        made.append(Rig(adapter, slack))
        return made[-1]

    yield rig
    for one in made:
        await one.http.aclose()
        await one.adapter.stop()
        await one.adapter.context.rest.aclose()


async def queued(redis: aioredis.Redis, names: Names) -> list[IncomingMessage]:
    entries = await stream_entries(redis, names.stream(TO_SECRETARY))
    return [IncomingMessage.model_validate_json(f[b"data"]) for _id, f in entries]


def a_dm(text: str, **fields: Any) -> Json:
    user, channel = "U" + uuid.uuid4().hex[:9].upper(), "D" + uuid.uuid4().hex[:9].upper()
    return build.envelope({**build.direct_message(user, channel, text), **fields})


async def test_a_body_that_is_not_slacks_json_is_a_400(make: Make) -> None:
    rig = await make(working=False)
    for body in (b"not json", b"[1, 2]", b'"text"'):
        assert await rig.post("/slack/events", body, "application/json") == 400
    form = "application/x-www-form-urlencoded"
    for body in (b"payload=not+json", b"other=1", b""):
        assert await rig.post("/slack/interactivity", body, form) == 400


async def test_slacks_notices_are_taken_without_a_message(
    make: Make, redis: aioredis.Redis, names: Names
) -> None:
    """Slack's `app_rate_limited` (https://api.slack.com/apis/events-api#rate-limiting), and
    an event of a kind the app did not ask for."""
    rig = await make(working=False)
    limited = {"token": "XXYYZZ", "team_id": build.TEAM, "minute_rate_limited": 1518467820,
               "api_app_id": build.APP, "type": "app_rate_limited"}  # fmt: skip
    assert await rig.event(limited) == 200
    assert await rig.event({**a_dm("hi"), "type": "app_deleted"}) == 200
    assert await queued(redis, names) == []


async def test_an_event_without_slacks_event_id_is_still_taken_once(
    make: Make, redis: aioredis.Redis, names: Names
) -> None:
    rig = await make()
    event = {k: v for k, v in a_dm("no id on this one").items() if k != "event_id"}
    assert await rig.event(event) == 200
    assert await rig.event(event, retry=1) == 200
    assert [m.text for m in await queued(redis, names)] == ["no id on this one"]


async def test_a_press_the_intake_cannot_take_is_a_500_and_slacks_retry_takes_it(
    make: Make, redis: aioredis.Redis, names: Names
) -> None:
    snooze = ButtonData(ButtonAction.SNOOZE, str(uuid.uuid4()), "10m")  # said as its label
    button = {"action_id": "b0.0", "text": {"type": "plain_text", "text": "10 min"},
              "value": snooze.encode()}  # fmt: skip
    press = build.block_actions("U0ANNA0001", "D0ANNA0001", "1700000000.000100", button)
    assert await (await make(working=False)).action(press) == 500
    assert await queued(redis, names) == []
    assert await (await make()).action(press, retry=1) == 200
    assert [m.text for m in await queued(redis, names)] == ["10 min"]


def shared(slack: SlackStandIn, data: bytes, name: str = "notes.txt", **fields: Any) -> Json:
    return {**slack.add_file(data, name, "text/plain"), **fields}


async def test_a_file_too_big_or_off_slacks_file_host_is_never_fetched(
    make: Make, slack: SlackStandIn, redis: aioredis.Redis, names: Names
) -> None:
    rig = await make()
    huge = shared(slack, b"small", size=FILE_MAX_BYTES + 1)
    elsewhere = shared(slack, b"x", url_private_download="https://files.example.org/x.txt")
    alone = a_dm("", subtype="file_share", files=[huge])
    assert await rig.event(alone) == 200, "nothing it could read: Slack need not try again"
    assert await rig.event(a_dm("and this", subtype="file_share", files=[elsewhere])) == 200
    (message,) = await queued(redis, names)
    assert (message.text, message.attachments) == ("and this", [])


@pytest.mark.parametrize("refusal", ["login-page", "deleted"])
async def test_a_file_slack_will_not_give_is_left_out(
    make: Make, slack: SlackStandIn, redis: aioredis.Redis, names: Names, refusal: str
) -> None:
    """A token without `files:read` gets Slack's login page; a file deleted meanwhile a 404."""
    file = shared(slack, b"secret plans")
    if refusal == "deleted":
        del slack.files[file["id"]]
    rig = await make(token="wrong-token" if refusal == "login-page" else None)
    assert await rig.event(a_dm("see the file", subtype="file_share", files=[file])) == 200
    (message,) = await queued(redis, names)
    assert (message.text, message.attachments) == ("see the file", [])


async def test_a_file_larger_than_it_said_is_left_out(
    make: Make, slack: SlackStandIn, redis: aioredis.Redis, names: Names
) -> None:
    file = shared(slack, b"x" * (FILE_MAX_BYTES + 1), size=1000)
    rig = await make()
    assert await rig.event(a_dm("a small file", subtype="file_share", files=[file])) == 200
    (message,) = await queued(redis, names)
    assert message.attachments == []


async def test_a_file_fetched_for_a_delivery_that_failed_is_not_fetched_again(
    make: Make, slack: SlackStandIn, redis: aioredis.Redis, names: Names
) -> None:
    file = shared(slack, b"The door code is 4711.\n")
    event = a_dm("what does it say?", subtype="file_share", files=[file])
    assert await (await make(working=False)).event(event) == 500
    slack.files_down = True  # a second fetch would fail, and so the retry
    assert await (await make()).event(event, retry=1) == 200
    (message,) = await queued(redis, names)
    (attachment,) = message.attachments
    assert (attachment.file_name, attachment.size) == ("notes.txt", file["size"])
    blobs = BlobStore(redis, names)
    assert await blobs.get(attachment.blob_key) == b"The door code is 4711.\n"
