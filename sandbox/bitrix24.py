"""A Bitrix24 stand-in: a portal's inbound webhook REST for leads
(`/rest/<user>/<token>/crm.lead.add.json`, `crm.lead.update.json`, `crm.lead.get.json`),
answering `{"result": ..., "time": {...}}` or `{"error", "error_description"}` with the
statuses Bitrix24 uses.

Standalone: `python -m sandbox.bitrix24 --port 8095`, then
`BITRIX24_WEBHOOK_URL=http://127.0.0.1:8095/rest/1/<token>/` (the token printed). In-process:
`Bitrix24StandIn()`; `.leads` holds the leads by id, `.calls` each method called with its
body, and `.fail_next(n, status, error)` makes the next `n` calls fail.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.server import StandInServer


@dataclass
class Failure:
    remaining: int
    status: int
    error: str


@dataclass
class Bitrix24StandIn(StandInServer):
    token: str = "s3cr3t-token"
    user: int = 1
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failure: Failure | None = None

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def url(self) -> str:
        """What BITRIX24_WEBHOOK_URL is set to."""
        return f"http://127.0.0.1:{self.port}/rest/{self.user}/{self.token}/"

    def fail_next(self, times: int, status: int = 503, error: str = "QUERY_LIMIT_EXCEEDED") -> None:
        self.failure = Failure(times, status, error)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/rest/{user}/{token}/{method}", self._call)
        return app

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token or request.match_info["user"] != str(
            self.user
        ):
            return _error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
        method = request.match_info["method"].removesuffix(".json")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "INVALID_REQUEST", "The body is not a JSON object")
        self.calls.append((method, body))
        if self.failure and self.failure.remaining > 0:
            self.failure.remaining -= 1
            return _error(self.failure.status, self.failure.error, "Failing as asked")
        handler = {
            "crm.lead.add": self._add,
            "crm.lead.update": self._update,
            "crm.lead.get": self._get,
        }.get(method)
        if handler is None:
            return _error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return handler(body)

    def _add(self, body: dict[str, Any]) -> web.Response:
        fields = body.get("fields")
        if not isinstance(fields, dict) or not fields.get("TITLE"):
            return _error(400, "ERROR_CORE", "Required fields: TITLE")
        lead_id = len(self.leads) + 1
        self.leads[lead_id] = {"ID": str(lead_id), **fields}
        return _result(lead_id)

    def _update(self, body: dict[str, Any]) -> web.Response:
        lead = self.leads.get(_id(body.get("id")))
        fields = body.get("fields")
        if lead is None:
            return _error(400, "ERROR_CORE", "Not found")
        if not isinstance(fields, dict):
            return _error(400, "ERROR_CORE", "Fields are required")
        lead.update(fields)
        return _result(True)

    def _get(self, body: dict[str, Any]) -> web.Response:
        lead = self.leads.get(_id(body.get("id")))
        if lead is None:
            return _error(400, "ERROR_CORE", "Not found")
        return _result(lead)


def _id(value: object) -> int:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def _result(result: object) -> web.Response:
    now = time.time()
    timing = {"start": now, "finish": now, "duration": 0.0, "processing": 0.0}
    return web.json_response({"result": result, "time": timing})


def _error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description}
    return web.json_response(body, status=status)


async def _serve(port: int) -> None:
    stand_in = Bitrix24StandIn()
    await stand_in.start(port=port)
    print(f"BITRIX24_WEBHOOK_URL={stand_in.url}", flush=True)
    await asyncio.Event().wait()


def main() -> None:  # pragma: no cover: the standalone entry point
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8095)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":  # pragma: no cover
    main()
