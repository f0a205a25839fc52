"""A local Slack for tests and the demo: the Web API the bot calls, and Slack's deliveries to
the app's request URLs.

Web API (`/api/<method>`, JSON or form, `Authorization: Bearer <bot token>`): `auth.test` and
`chat.postMessage`, checked as Slack checks them (the token: `invalid_auth`; text over 40 000
characters: `msg_too_long`; a section over 3 000, more than 50 blocks, a button's label over
75 or value over 2 000: `invalid_blocks`; a channel made unknown: `channel_not_found`), and
recorded (`posted_to`). `fail()` makes the next calls fail: HTTP 429 with `Retry-After`, an
`ok: false` error, or a 5xx.

Deliveries (`deliver_event`, `deliver_action`): an Events API or interactivity request to a URL,
signed with the app's signing secret as Slack signs it (`X-Slack-Signature`,
`X-Slack-Request-Timestamp`); when the receiver fails (not 2xx, or no answer) Slack tries again
up to three times, saying so (`X-Slack-Retry-Num`, `X-Slack-Retry-Reason`).

    python -m sandbox.slack_api --port 8082 --token xoxb-sandbox --signing-secret s3cret
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from sandbox import slack_events as build
from sandbox.server import StandInServer

Json = dict[str, Any]

MAX_TEXT = 40_000
MAX_SECTION = 3000
MAX_BLOCKS = 50
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
#: Slack's pace for posts to one channel ("about one message a second"): closer posts count as
#: too fast (`too_fast`).
PACE_SECONDS = 1.0
#: Slack's retries of a failed delivery: three, after the first.
RETRIES = 3


@dataclass
class Posted:
    """A message the bot posted."""

    channel: str
    text: str
    blocks: list[Json]
    thread_ts: str | None
    ts: str
    at: float  # time.monotonic() of acceptance

    @property
    def sections(self) -> list[str]:
        return [b["text"]["text"] for b in self.blocks if b.get("type") == "section"]

    @property
    def buttons(self) -> list[Json]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]


@dataclass
class Forced:
    """The next `times` calls of `method` (to `channel`, if set) fail: HTTP `status` (429
    with `Retry-After`), or `ok: false` with `error` when `status` is 200."""

    method: str
    status: int = 429
    error: str = "ratelimited"
    retry_after: int | None = 1
    channel: str | None = None
    times: int = 1
    #: Matching calls let through before the failures start.
    after: int = 0


@dataclass
class Delivery:
    """One delivery and its attempts' statuses (0: no answer)."""

    url: str
    statuses: list[int] = field(default_factory=list)


class SlackStandIn(StandInServer):
    thread_name = "slack-stand-in"

    def __init__(self, token: str = "xoxb-sandbox", signing_secret: str = "sandbox-secret") -> None:
        super().__init__()
        self.token = token
        self.signing_secret = signing_secret
        self.posted: list[Posted] = []
        self.rejected: list[tuple[str, int, str]] = []
        self.forced: list[Forced] = []
        self.unknown_channels: set[str] = set()
        self.calls: dict[str, int] = {}
        #: Shared files by id: their bytes and content type.
        self.files: dict[str, tuple[bytes, str]] = {}
        #: While set, the file host answers 503.
        self.files_down = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """`SLACK_API_BASE`."""
        return f"{self.url}/api"

    def settings(self) -> dict[str, str]:
        """The channels service's Slack settings for this stand-in."""
        return {
            "SLACK_BOT_TOKEN": self.token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_BASE": self.api_base,
        }

    def posted_to(self, channel: str) -> list[Posted]:
        return [p for p in list(self.posted) if p.channel == channel]

    def too_fast(self, channel: str) -> int:
        """Posts to `channel` that came sooner than Slack's pace after the one before."""
        at = [p.at for p in self.posted_to(channel)]
        return sum(b - a < PACE_SECONDS * 0.9 for a, b in itertools.pairwise(at))

    def add_file(
        self, data: bytes, name: str, mimetype: str, *, subtype: str | None = None
    ) -> Json:
        """A file someone shared: its object as a message event carries it (in `files`), its
        bytes at `url_private_download` for the bot token only."""
        file_id = f"F0{len(self.files) + 1:08d}"
        self.files[file_id] = (data, mimetype)
        found: Json = {
            "id": file_id, "created": int(time.time()), "name": name, "title": name,
            "mimetype": mimetype, "filetype": name.rsplit(".", 1)[-1], "size": len(data),
            "mode": "hosted", "is_external": False,
            "url_private": f"{self.url}/files/{file_id}/{name}",
            "url_private_download": f"{self.url}/files/{file_id}/download/{name}",
        }  # fmt: skip
        if subtype is not None:
            found["subtype"] = subtype
        return found

    def fail(self, method: str, **how: Any) -> Forced:
        forced = Forced(method, **how)
        self.forced.append(forced)
        return forced

    # -- the Web API -------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_get("/files/{file_id}/{rest:.*}", self._file)
        return app

    async def _file(self, request: web.Request) -> web.Response:
        """A file's bytes for the bot token; without it Slack shows its login page."""
        found = self.files.get(request.match_info["file_id"])
        if self.files_down:
            return web.Response(status=503)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        if found is None:
            return web.Response(status=404)
        data, mimetype = found
        return web.Response(body=data, content_type=mimetype)

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        params = await _params(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(method, 200, "invalid_auth")
        forced = self._forced(method, params.get("channel"))
        if forced is not None:
            headers = {"Retry-After": str(forced.retry_after)} if forced.retry_after else {}
            if forced.status != 200:
                self.rejected.append((method, forced.status, forced.error))
                return web.json_response(
                    {"ok": False, "error": forced.error}, status=forced.status, headers=headers
                )
            return self._error(method, 200, forced.error, headers)
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://sandbox.slack.com/",
                    "team": "Sandbox",
                    "user": "secretary",
                    "team_id": build.TEAM,
                    "user_id": build.BOT_USER,
                    "bot_id": build.BOT_ID,
                }
            )
        if method == "chat.postMessage":
            return self._post_message(params)
        return self._error(method, 200, "unknown_method")

    def _forced(self, method: str, channel: object) -> Forced | None:
        for forced in self.forced:
            wanted = forced.channel is None or forced.channel == channel
            if forced.times > 0 and forced.method == method and wanted:
                if forced.after > 0:
                    forced.after -= 1
                    return None
                forced.times -= 1
                return forced
        return None

    def _post_message(self, params: Json) -> web.Response:
        method = "chat.postMessage"
        channel, text = params.get("channel"), params.get("text")
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(channel, str) or not channel or channel in self.unknown_channels:
            return self._error(method, 200, "channel_not_found")
        if not text and not blocks:
            return self._error(method, 200, "no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            return self._error(method, 200, "msg_too_long")
        problem = _blocks_problem(blocks)
        if problem:
            return self._error(method, 200, "invalid_blocks", detail=problem)
        ts = build.next_ts()
        thread = params.get("thread_ts")
        self.posted.append(
            Posted(
                channel,
                str(text or ""),
                blocks,
                thread if isinstance(thread, str) else None,
                ts,
                time.monotonic(),
            )
        )
        message = {"type": "message", "text": text, "ts": ts, "bot_id": build.BOT_ID}
        return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": message})

    def _error(
        self,
        method: str,
        status: int,
        error: str,
        headers: dict[str, str] | None = None,
        detail: str = "",
    ) -> web.Response:
        self.rejected.append((method, status, f"{error} {detail}".strip()))
        return web.json_response({"ok": False, "error": error}, status=status, headers=headers)

    # -- deliveries --------------------------------------------------------------------------

    def signed_headers(
        self, body: bytes, content_type: str, *, timestamp: int | None = None
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(self.signing_secret, stamp, body),
        }

    async def deliver(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        retries: int = RETRIES,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Posts `body` to `url` signed (or with `headers` as given), and again while the
        receiver fails, up to `retries` times, as Slack does."""
        delivery = Delivery(url)
        async with aiohttp.ClientSession() as http:
            for attempt in range(retries + 1):
                sent = dict(headers or self.signed_headers(body, content_type))
                if attempt:
                    sent["X-Slack-Retry-Num"] = str(attempt)
                    sent["X-Slack-Retry-Reason"] = "http_error"
                try:
                    async with http.post(url, data=body, headers=sent) as response:
                        await response.read()
                        delivery.statuses.append(response.status)
                except (aiohttp.ClientError, TimeoutError):
                    delivery.statuses.append(0)
                if 200 <= delivery.statuses[-1] < 300:
                    break
        return delivery

    async def deliver_event(self, url: str, payload: Json, **how: Any) -> Delivery:
        """An Events API request (`payload`: an `event_callback` or a `url_verification`)."""
        body, content_type = build.event_body(payload)
        return await self.deliver(url, body, content_type, **how)

    async def deliver_action(self, url: str, payload: Json, **how: Any) -> Delivery:
        """An interactivity request (`payload`: a `block_actions`)."""
        body, content_type = build.interactivity_body(payload)
        return await self.deliver(url, body, content_type, **how)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's `X-Slack-Signature` (written here from Slack's documentation, apart from the
    adapter's own, so each checks the other)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _blocks_problem(blocks: object) -> str:
    """What Slack would refuse in `blocks` ("" for nothing)."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "blocks must be a list of at most 50"
    for block in blocks:
        if not isinstance(block, dict):
            return "a block must be an object"
        if block.get("type") == "section":
            text = (block.get("text") or {}).get("text")
            if not isinstance(text, str) or not text or len(text) > MAX_SECTION:
                return "a section's text must have 1 to 3000 characters"
        elif block.get("type") == "actions":
            for element in block.get("elements") or []:
                label = (element.get("text") or {}).get("text") or ""
                if not 0 < len(label) <= MAX_BUTTON_TEXT:
                    return "a button's text must have 1 to 75 characters"
                if len(element.get("value") or "") > MAX_BUTTON_VALUE:
                    return "a button's value must have at most 2000 characters"
        else:
            return f"block type {block.get('type')!r} is not known here"
    return ""


async def _params(request: web.Request) -> Json:
    """A call's arguments: a JSON body, or form fields (Slack takes both)."""
    raw = await request.read()
    if request.content_type == "application/json":
        try:
            found = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
    return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


async def _serve(args: argparse.Namespace) -> None:
    stand_in = SlackStandIn(args.token, args.signing_secret)
    await stand_in.start(args.host, args.port)
    print(f"Slack stand-in on {stand_in.api_base}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", default="xoxb-sandbox")
    parser.add_argument("--signing-secret", default="sandbox-secret")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
