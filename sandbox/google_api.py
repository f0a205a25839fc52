"""A local stand-in for Google OAuth 2.0 and Calendar v3 that the real client libraries talk to.

`python -m sandbox.google_api --port N` serves it; tests may instead run `GoogleStandIn` in
their own event loop and arrange things on its `state` directly. Point the service at it with
the settings `GoogleStandIn.settings()` returns (GOOGLE_AUTH_URI, GOOGLE_TOKEN_URI,
GOOGLE_REVOKE_URI, GOOGLE_API_BASE_URL, the client id and secret).

Routes, as Google names them: `GET /o/oauth2/auth` (the consent screen: it answers at once
with a redirect to `redirect_uri`, carrying a code, or `error=access_denied` when the next
queued consent says no), `POST /token`, `POST /revoke`, and under `/calendar/v3/`:
`calendars/{calendarId}`, `calendars/{calendarId}/events` (list, insert),
`calendars/{calendarId}/events/{eventId}` (get, patch, delete), `users/me/calendarList` and
`freeBusy`; Tasks v1 (sandbox.google_tasks); Gmail v1 under `/gmail/v1/`
(sandbox.google_mail). Every answer is checked against its discovery document
(sandbox.google_schema). Control routes under `/_sandbox/` queue consents and faults, seed
events, tasks and mail and show what was asked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict
from urllib.parse import urlencode

from aiohttp import BasicAuth, web

from sandbox import google_tasks
from sandbox.google_mail import MAIL_KEY, MailState, json_body, mail_routes
from sandbox.google_schema import SchemaDriftError
from sandbox.google_state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ApiError,
    Calendar,
    GoogleState,
    OAuthError,
    Seen,
)

STATE_KEY: web.AppKey[GoogleState] = web.AppKey("state", GoogleState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> GoogleState:
    return request.app[STATE_KEY]


def _fault_error(
    operation: str, status: int, reason: str | None, message: str | None
) -> OAuthError | ApiError:
    if operation in ("token", "revoke"):
        error = reason or ("invalid_grant" if status == 400 else "server_error")
        return OAuthError(status, error, message or "Token has been expired or revoked.")
    return ApiError(status, reason, message)


@web.middleware
async def _faults_and_record(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Injects queued faults, renders errors the way Google does, and records each call."""
    operation = request.match_info.route.name or ""
    if not operation or operation.startswith("_"):
        return await handler(request)
    state = _state(request)
    fault = state.take_fault(operation)
    try:
        if fault is not None:
            raise _fault_error(operation, fault.status, fault.reason, fault.message)
        response = await handler(request)
    except OAuthError as exc:
        response = _oauth_error(operation, exc)
    except ApiError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        response = web.json_response(
            exc.body(), status=exc.status, headers=headers if exc.status == 401 else None
        )
    except SchemaDriftError as exc:
        response = web.json_response({"stand_in_drift": str(exc)}, status=599)
    params = {k: v for k, v in request.query.items() if k not in ("token", "access_token")}
    state.seen.append(Seen(operation, params, response.status))
    return response


def _oauth_error(operation: str, exc: OAuthError) -> web.Response:
    if operation == "authorize":  # Google shows an error page; it never redirects
        page = f"<h1>Error {exc.status}: {exc.error}</h1><p>{exc.description}</p>"
        return web.Response(text=page, status=exc.status, content_type="text/html")
    return web.json_response(exc.body(), status=exc.status)


# -- OAuth ------------------------------------------------------------------------------------


async def authorize(request: web.Request) -> web.Response:
    params = dict(request.query)
    answer = _state(request).authorize(params)
    separator = "&" if "?" in params["redirect_uri"] else "?"
    location = f"{params['redirect_uri']}{separator}{urlencode(answer)}"
    return web.Response(status=302, headers={"Location": location})


async def token(request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    basic = None
    if request.headers.get("Authorization", "").startswith("Basic "):
        decoded = BasicAuth.decode(request.headers["Authorization"])
        basic = (decoded.login, decoded.password)
    return web.json_response(_state(request).token(form, basic))


async def revoke(request: web.Request) -> web.Response:
    form = await request.post()
    _state(request).revoke(str(form.get("token") or request.query.get("token", "")))
    return web.json_response({})


# -- Calendar v3 ------------------------------------------------------------------------------


def _calendar(request: web.Request) -> Calendar:
    state = _state(request)
    email = state.authenticate(request.headers.get("Authorization"))
    return state.own_calendar(email, request.match_info["calendar_id"])


async def calendars_get(request: web.Request) -> web.Response:
    return web.json_response(_state(request).calendar_resource(_calendar(request)))


async def events_list(request: web.Request) -> web.Response:
    calendar = _calendar(request)
    return web.json_response(_state(request).list_events(calendar, dict(request.query)))


async def events_insert(request: web.Request) -> web.Response:
    calendar = _calendar(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "parseError", "Parse Error") from exc
    try:
        event = _state(request).insert(calendar, body)
    except SchemaDriftError as exc:  # a request Google would not understand
        raise ApiError(400, "invalid", str(exc)) from exc
    return web.json_response(event)


async def events_patch(request: web.Request) -> web.Response:
    calendar = _calendar(request)
    body = await json_body(request)
    try:
        event = _state(request).patch(calendar, request.match_info["event_id"], body)
    except SchemaDriftError as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    return web.json_response(event)


async def events_delete(request: web.Request) -> web.Response:
    calendar = _calendar(request)
    _state(request).delete(calendar, request.match_info["event_id"])
    return web.Response(status=204)


async def calendar_list(request: web.Request) -> web.Response:
    state = _state(request)
    email = state.authenticate(request.headers.get("Authorization"))
    return web.json_response(state.calendar_list(email))


async def free_busy(request: web.Request) -> web.Response:
    state = _state(request)
    email = state.authenticate(request.headers.get("Authorization"))
    body = await json_body(request)
    try:
        answer = state.free_busy(email, body)
    except SchemaDriftError as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    return web.json_response(answer)


async def events_get(request: web.Request) -> web.Response:
    calendar = _calendar(request)
    event = _state(request).get_event(
        calendar, request.match_info["event_id"], request.query.get("timeZone")
    )
    return web.json_response(event)


# -- control ----------------------------------------------------------------------------------


async def control_consent(request: web.Request) -> web.Response:
    body = await request.json()
    _state(request).queue_consent(bool(body.get("grant", True)), body.get("email", "user@x.com"))
    return web.json_response({"queued": len(_state(request).consents)})


async def control_seed(request: web.Request) -> web.Response:
    body = await request.json()
    email = request.match_info["email"]
    state = _state(request)
    state.calendar(email, body.get("time_zone"))
    calendar_id = body.get("calendar_id")
    if calendar_id:
        state.add_calendar(email, calendar_id, body.get("summary") or calendar_id)
    stored = state.seed(email, body.get("events", []), calendar_id)
    return web.json_response({"ids": [e["id"] for e in stored]})


async def control_events(request: web.Request) -> web.Response:
    calendar = _state(request).calendar(request.match_info["email"])
    return web.json_response(list(calendar.events.values()))


async def control_fault(request: web.Request) -> web.Response:
    body = await request.json()
    _state(request).queue_fault(
        body["operation"],
        int(body["status"]),
        body.get("reason"),
        count=int(body.get("count", 1)),
        message=body.get("message"),
    )
    return web.json_response({"queued": True})


async def control_account(request: web.Request) -> web.Response:
    state, email = _state(request), request.match_info["email"]
    actions = {
        "invalidate-grants": state.invalidate_grants,
        "expire-access-tokens": state.expire_access_tokens,
    }
    action = actions.get(request.match_info["action"])
    if action is None:
        raise web.HTTPNotFound()
    action(email)
    return web.json_response({"done": True})


async def control_requests(request: web.Request) -> web.Response:
    wanted = request.query.get("operation")
    seen = [asdict(s) for s in _state(request).seen if wanted in (None, s.operation)]
    return web.json_response(seen)


async def control_settings(request: web.Request) -> web.Response:
    body = await request.json()
    state = _state(request)
    if "access_token_ttl" in body:
        state.access_token_ttl = int(body["access_token_ttl"])
    return web.json_response({"access_token_ttl": state.access_token_ttl})


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "google_stand_in"})


def create_app(state: GoogleState | None = None, mail: MailState | None = None) -> web.Application:
    app = web.Application(middlewares=[_faults_and_record])
    app[STATE_KEY] = state or GoogleState()
    app[MAIL_KEY] = mail or MailState(app[STATE_KEY])
    api = "/calendar/v3/calendars/{calendar_id}"
    routes: list[tuple[str, str, Handler, str]] = [
        ("GET", "/o/oauth2/auth", authorize, "authorize"),
        ("POST", "/token", token, "token"),
        ("POST", "/revoke", revoke, "revoke"),
        ("GET", api, calendars_get, "calendars.get"),
        ("GET", f"{api}/events", events_list, "events.list"),
        ("POST", f"{api}/events", events_insert, "events.insert"),
        ("GET", f"{api}/events/{{event_id}}", events_get, "events.get"),
        ("PATCH", f"{api}/events/{{event_id}}", events_patch, "events.patch"),
        ("DELETE", f"{api}/events/{{event_id}}", events_delete, "events.delete"),
        ("GET", "/calendar/v3/users/me/calendarList", calendar_list, "calendarList.list"),
        ("POST", "/calendar/v3/freeBusy", free_busy, "freebusy.query"),
        ("POST", "/_sandbox/consent", control_consent, "_consent"),
        ("POST", "/_sandbox/calendars/{email}", control_seed, "_seed"),
        ("GET", "/_sandbox/calendars/{email}/events", control_events, "_events"),
        ("POST", "/_sandbox/faults", control_fault, "_fault"),
        ("POST", "/_sandbox/accounts/{email}/{action}", control_account, "_account"),
        ("GET", "/_sandbox/requests", control_requests, "_requests"),
        ("PATCH", "/_sandbox/settings", control_settings, "_settings"),
        ("GET", "/health", health, "_health"),
        *mail_routes(),
    ]
    for method, path, handler, name in routes:
        app.router.add_route(method, path, handler, name=name)
    google_tasks.add_routes(app)
    return app


class GoogleStandIn:
    """The stand-in served from the caller's event loop (`async with GoogleStandIn() as g`)."""

    def __init__(self, state: GoogleState | None = None, host: str = "127.0.0.1") -> None:
        self.state = state or GoogleState()
        #: Gmail's mailboxes (sandbox.google_mail), on the same tokens.
        self.mail = MailState(self.state)
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, port: int = 0) -> GoogleStandIn:
        self._runner = web.AppRunner(create_app(self.state, self.mail), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GoogleStandIn:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def settings(self) -> dict[str, str]:
        """The google_calendar_service environment that points at this stand-in."""
        client_id, client_secret = next(iter(self.state.clients.items()))
        return {
            "GOOGLE_CLIENT_ID": client_id,
            "GOOGLE_CLIENT_SECRET": client_secret,
            "GOOGLE_AUTH_URI": f"{self.url}/o/oauth2/auth",
            "GOOGLE_TOKEN_URI": f"{self.url}/token",
            "GOOGLE_REVOKE_URI": f"{self.url}/revoke",
            "GOOGLE_API_BASE_URL": f"{self.url}/calendar/v3/",
            "GOOGLE_TASKS_API_BASE_URL": f"{self.url}/",
            "GOOGLE_MAIL_API_BASE_URL": f"{self.url}/",
        }


@contextlib.contextmanager
def serving_in_thread(state: GoogleState | None = None) -> Iterator[GoogleStandIn]:
    """The stand-in on an event loop of its own, in a thread: it keeps answering while the
    caller blocks, and it can outlive one test's event loop (a session fixture)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="google-stand-in", daemon=True)
    thread.start()
    stand_in = GoogleStandIn(state)
    try:
        asyncio.run_coroutine_threadsafe(stand_in.start(), loop).result(10)
        yield stand_in
    finally:
        asyncio.run_coroutine_threadsafe(stand_in.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _serve(args: argparse.Namespace) -> None:
    state = GoogleState(args.client_id, args.client_secret, access_token_ttl=args.token_ttl)
    stand_in = await GoogleStandIn(state, args.host).start(args.port)
    for name, value in stand_in.settings().items():
        print(f"{name}={value}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await stand_in.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Google OAuth + Calendar v3 stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--token-ttl", type=int, default=3599, help="access token lifetime (s)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
