"""Our own HTTP clients' one stack (decision 0043): an aiohttp session a service makes once at
start-up and passes in, and the one call its JSON clients make over it.

The session reads proxies from the environment and no call follows redirects, as the
httpx clients these replaced did; each call's timeout bounds connecting and each read (not
the whole exchange), as theirs did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

#: No usable answer came: refused, reset, cut off, timed out, or a URL that cannot be sent.
UNANSWERED: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)
#: No answer, or one whose body is not the JSON asked for (`Answer.json`).
UNREADABLE: tuple[type[BaseException], ...] = (*UNANSWERED, ValueError)

#: What the messages and the admin dashboard have always called a failure (their readers,
#: and the tests, know these words); the first class that matches names it.
_FAILURE_NAMES: tuple[tuple[type[BaseException], str], ...] = (
    (aiohttp.ConnectionTimeoutError, "ConnectTimeout"),
    (aiohttp.ServerTimeoutError, "ReadTimeout"),
    (aiohttp.ClientConnectorError, "ConnectError"),
    (aiohttp.ServerDisconnectedError, "RemoteProtocolError"),
    (aiohttp.ClientPayloadError, "RemoteProtocolError"),
    (aiohttp.ClientOSError, "ReadError"),
    (aiohttp.InvalidURL, "InvalidURL"),
    (TimeoutError, "TimeoutException"),
)


def client_session(timeout: float = 5.0) -> aiohttp.ClientSession:
    """The process's one session for the outside services; `timeout`, for a call that names
    none, is the 5 s httpx's default client had."""
    return aiohttp.ClientSession(trust_env=True, timeout=per_step(timeout))


def per_step(seconds: float) -> aiohttp.ClientTimeout:
    """`seconds` for getting a connection and for each read; no bound on the whole."""
    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)


@dataclass(frozen=True)
class Answer:
    """A response, read whole."""

    status: int
    content: bytes
    #: The response's headers (a `Retry-After` to honour), case-insensitive.
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; `ValueError` when it is not."""
        return json.loads(self.content)


async def send(
    http: aiohttp.ClientSession, method: str, url: str, *, timeout: float, **kwargs: Any
) -> Answer:
    """One request, its answer read whole; raises one of `UNANSWERED` when none came."""
    async with http.request(
        method, url, timeout=per_step(timeout), allow_redirects=False, **kwargs
    ) as response:
        return Answer(response.status, await response.read(), response.headers)


def failure_name(exc: BaseException) -> str:
    """The short name a message gives a failure to answer."""
    return next(
        (name for kind, name in _FAILURE_NAMES if isinstance(exc, kind)), type(exc).__name__
    )
