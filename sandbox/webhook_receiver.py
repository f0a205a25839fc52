"""A webhook subscriber's endpoint: records each delivery (headers and body) and answers the
statuses it is given in turn, and the receiver's check of a delivery's signature as
docs/rest_api.md ("Webhooks") tells a subscriber to write it."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from sandbox.server import StandInServer


def verify(
    secret: str, headers: dict[str, str], body: bytes, header: str = "X-Webhook-Signature"
) -> bool:
    """The receiver's recipe in docs/rest_api.md, "Webhooks" (an API client's signature is
    in `X-Signature-256`)."""
    timestamp = headers["X-Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers[header], "sha256=" + expected.hexdigest())


class Receiver(StandInServer):
    """A subscriber's endpoint: answers `statuses` in turn (the last one again after them)."""

    def __init__(self, *statuses: int) -> None:
        super().__init__()
        self.statuses = list(statuses) or [200]
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self, secret: str) -> list[dict[str, Any]]:
        """The deliveries' bodies, each checked against `secret` first."""
        bodies = []
        for headers, body in list(self.received):
            assert verify(secret, headers, body), "a delivery's signature does not verify"
            bodies.append(json.loads(body))
        return bodies

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses[min(len(self.received), len(self.statuses)) - 1])
