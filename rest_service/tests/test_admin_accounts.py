"""Named admin accounts: login limits per name and per address
(429 with Retry-After, the right password waits too), sessions that end on logout and on a
password change, the change history naming the real admin (or `api-token`), the security
headers, and `./manage.py admin`."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.errors import ValidationFailedError
from common.infrastructure.redis_keys import Names
from rest_service.app.admin.login_limit import (
    LoginLimiter,
    LoginPolicy,
    LoginThrottled,
    account_scope,
)
from rest_service.app.domain import admin_accounts
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, assistant_form
from tests.test_manage import MANAGE, bare_env

PASSWORD = "correct horse battery staple"
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def post_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/admin/login", data={"username": username, "password": password}, headers=ORIGIN
    )


async def make_admin(app: FastAPI, name: str, password: str = PASSWORD) -> str:
    async with unit_of_work(app.state.app_state) as ctx:
        return (await admin_accounts.create(ctx.session, name, password)).name


def new_client(app: FastAPI, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://rest", cookies=cookies)


async def logged_in_as(app: FastAPI, name: str, password: str = PASSWORD) -> httpx.AsyncClient:
    client = new_client(app)
    response = await post_login(client, name, password)
    assert response.status_code == 302, response.text
    return client


async def sees_admin(client: httpx.AsyncClient) -> bool:
    response = await client.get("/admin/assistant/list")
    return response.status_code == 200


def unique_name() -> str:
    return f"ann-{uuid.uuid4().hex[:8]}"


async def let_time_pass(app: FastAPI, seconds: float) -> None:
    """`seconds` pass for every admin login limit, as Redis keeps their time: each lives that
    much less, and one whose time is up is gone, without the test waiting for it."""
    state = app.state.app_state
    names = Names(state.settings.redis_key_prefix)
    for pattern in (names.admin_login_lock("*"), names.admin_login_failures("*")):
        async for key in state.redis.scan_iter(match=pattern):
            left = await state.redis.pttl(key)
            if left > seconds * 1000:
                await state.redis.pexpire(key, int(left - seconds * 1000))
            elif left >= 0:
                await state.redis.delete(key)


class TestBruteForce:
    @pytest.fixture(autouse=True)
    def waits_no_run_outlasts(self, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
        """The first wait 600 s instead of 1 s: on a loaded machine (under coverage) the 300
        attempts below took longer than even a 30 s wait, and a guess it let through was
        counted as the limiter's fault. Now only `let_time_pass` ends a wait."""
        monkeypatch.setattr(app.state.app_state.settings, "admin_login_base_delay_seconds", 600)

    async def test_wrong_passwords_are_answered_429_and_then_the_right_one_waits_too(
        self, client: httpx.AsyncClient, secrets: dict[str, str]
    ) -> None:
        """Attack 3: 300 wrong passwords in a row, then the right one, used to log in."""
        statuses = [(await post_login(client, "ops", f"guess-{i}")).status_code for i in range(300)]
        assert statuses == [400] * 5 + [429] * 295  # the free failures, then only waits
        response = await post_login(client, "ops", secrets["ADMIN_API_TOKEN"])
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert "smart_assistant_admin" not in response.headers.get("set-cookie", "")

    async def test_many_names_from_one_address_are_limited_too(
        self, client: httpx.AsyncClient, secrets: dict[str, str]
    ) -> None:
        statuses = [
            (await post_login(client, f"name-{i}", "wrong password")).status_code for i in range(40)
        ]
        assert statuses[:20] == [400] * 20 and set(statuses[21:]) == {429}, statuses
        response = await post_login(client, "someone-new", secrets["ADMIN_API_TOKEN"])
        assert response.status_code == 429 and response.headers["retry-after"]

    @pytest.mark.commits
    async def test_parallel_guesses_cannot_slip_past_the_count(self, client: httpx.AsyncClient):
        responses = await asyncio.gather(
            *[post_login(client, "ops", f"guess-{i}") for i in range(30)]
        )
        checked = [r for r in responses if r.status_code == 400]
        assert len(checked) <= 6 and all(r.status_code in (400, 429) for r in responses)

    async def test_after_the_wait_the_right_password_logs_in_and_the_count_starts_afresh(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        name = await make_admin(app, unique_name())
        for i in range(5):
            await post_login(client, name, f"wrong-{i}")
        waiting = await post_login(client, name, PASSWORD)
        assert waiting.status_code == 429
        await let_time_pass(app, float(waiting.headers["retry-after"]))
        assert (await post_login(client, name, PASSWORD)).status_code == 302
        assert (await post_login(client, name, "wrong again")).status_code == 400

    async def test_failures_are_logged_with_name_and_address_never_the_password(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        for _ in range(7):
            await post_login(client, "mallory", "hunter2-secret")
        events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]  # structlog's dicts
        events = [e for e in events if "admin_login" in e["event"]]
        refused = [e for e in events if e["event"] == "admin_login_refused"]
        assert len(refused) == 5 and any(e["event"] == "admin_login_throttled" for e in events)
        assert refused[0]["username"] == "mallory" and refused[0]["address"]
        assert "hunter2-secret" not in caplog.text


async def test_the_delay_doubles_with_each_failure_past_the_free_ones(
    redis: aioredis.Redis, names: Names
) -> None:
    policy = LoginPolicy(2, 100, base_delay_ms=100, max_delay_ms=400, window_s=60)
    limiter = LoginLimiter(redis, names, policy)
    waits = []
    for _ in range(6):
        while True:
            try:
                await limiter.reserve("ann", "10.0.0.1")
                break
            except LoginThrottled:
                pass
        waits.append(await redis.pttl(names.admin_login_lock(account_scope("ann"))))
    assert waits[0] == -2  # the first free failure: no lock
    assert 0 < waits[1] <= 100 < waits[2] <= 200 < waits[3] <= 400  # doubling
    assert 200 < waits[4] <= 400 and 200 < waits[5] <= 400  # up to the maximum


class TestSessions:
    async def test_a_saved_cookie_is_refused_after_logout(self, app: FastAPI) -> None:
        """Attack 4: the signed cookie used to keep working after logout."""
        name = await make_admin(app, unique_name())
        client = await logged_in_as(app, name)
        saved = httpx.Cookies(client.cookies)
        assert await sees_admin(client)
        assert (await client.get("/admin/logout")).status_code == 302
        async with new_client(app, saved) as thief:
            assert not await sees_admin(thief)
        await client.aclose()

    async def test_the_token_login_cookie_is_refused_after_logout_too(
        self, app: FastAPI, secrets: dict[str, str]
    ) -> None:
        client = await logged_in_as(app, "ops", secrets["ADMIN_API_TOKEN"])
        saved = httpx.Cookies(client.cookies)
        await client.get("/admin/logout")
        async with new_client(app, saved) as thief:
            assert not await sees_admin(thief)
        await client.aclose()

    @pytest.mark.commits  # the CLI's run() works through an engine of its own
    async def test_a_password_change_ends_every_session_of_that_admin(self, app: FastAPI) -> None:
        from rest_service.admin_cli import build_parser, run

        name, other = await make_admin(app, unique_name()), await make_admin(app, unique_name())
        first, second = await logged_in_as(app, name), await logged_in_as(app, name)
        bystander = await logged_in_as(app, other)
        args = build_parser().parse_args(["passwd", name])
        said = await run(app.state.app_state.settings, args, "a brand new passphrase")
        assert "2 open session(s) ended" in said
        assert not await sees_admin(first) and not await sees_admin(second)
        assert await sees_admin(bystander)
        async with new_client(app) as fresh:
            assert (await post_login(fresh, name, PASSWORD)).status_code == 400
            assert (await post_login(fresh, name, "a brand new passphrase")).status_code == 302
        for client in (first, second, bystander):
            await client.aclose()

    async def test_the_cookie_carries_no_admin_name(self, app: FastAPI) -> None:
        name = await make_admin(app, unique_name())
        client = await logged_in_as(app, name)
        cookie = client.cookies["smart_assistant_admin"]
        payload = base64.b64decode(cookie.split(".")[0] + "==").decode()
        assert name not in payload and "token" in payload
        await client.aclose()


class TestRedisDown:
    async def test_login_is_a_503_and_a_session_is_refused_never_a_500(
        self, app: FastAPI, secrets: dict[str, str]
    ) -> None:
        """Sessions and limits live in Redis: without it the admin fails closed."""
        client = await logged_in_as(app, "ops", secrets["ADMIN_API_TOKEN"])
        state = app.state.app_state
        live, dead = state.redis, aioredis.Redis.from_url("redis://127.0.0.1:1")
        state.redis = dead  # restored before the lifespan closes the live client
        try:
            assert (await client.get("/admin/assistant/list")).status_code == 302
            async with new_client(app) as fresh:
                response = await post_login(fresh, "ops", secrets["ADMIN_API_TOKEN"])
        finally:
            state.redis = live
            await dead.aclose()
            await client.aclose()
        assert response.status_code == 503 and "Redis" in response.text


class TestHistoryNamesTheAdmin:
    async def test_a_named_admin_is_recorded_by_name(self, app: FastAPI, api: Api) -> None:
        name = await make_admin(app, unique_name())
        client = await logged_in_as(app, name)
        await self._edit(client, api, f"admin:{name}")
        await client.aclose()

    async def test_the_token_login_is_recorded_as_api_token_whatever_name_is_typed(
        self, app: FastAPI, api: Api, secrets: dict[str, str]
    ) -> None:
        client = await logged_in_as(app, "the-ceo", secrets["ADMIN_API_TOKEN"])
        await self._edit(client, api, "api-token")
        await client.aclose()

    async def _edit(self, client: httpx.AsyncClient, api: Api, actor: str) -> None:
        assistant = await api.assistant()
        response = await client.post(
            f"/admin/assistant/edit/{assistant['id']}",
            data=assistant_form(assistant, instructions="Edited."),
            headers=ORIGIN,
        )
        assert response.status_code == 302, response.text
        changes = await api.ok("GET", f"/api/config/changes?entity_id={assistant['id']}", api.admin)
        assert changes[0]["actor"] == actor


class TestBootstrapAdmin:
    async def test_the_settings_admin_logs_in_until_an_account_takes_the_name(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        name = unique_name()
        monkeypatch.setattr(app.state.app_state.settings, "admin_username", name.upper())
        monkeypatch.setattr(app.state.app_state.settings, "admin_password", "bootstrap-password")
        await (await logged_in_as(app, name, "bootstrap-password")).aclose()
        await make_admin(app, name)
        async with new_client(app) as client:
            assert (await post_login(client, name, "bootstrap-password")).status_code == 400
            assert (await post_login(client, name, PASSWORD)).status_code == 302


class TestHeaders:
    @pytest.mark.parametrize("path", ["/admin/login", "/admin/", "/admin/statics/css/main.css"])
    async def test_every_admin_response_has_the_security_headers(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert re.search(r"script-src 'self' 'nonce-[\w-]+'", csp), csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"

    async def test_inline_scripts_carry_this_responses_nonce(
        self, app: FastAPI, secrets: dict[str, str]
    ) -> None:
        client = await logged_in_as(app, "ops", secrets["ADMIN_API_TOKEN"])
        for path in ("/admin/analytics", "/admin/history"):
            response = await client.get(path)
            nonce = re.search(r"'nonce-([\w-]+)'", response.headers["content-security-policy"])
            assert nonce is not None
            inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
            executable = [attrs for attrs in inline if "application/json" not in attrs]
            assert executable and all(f'nonce="{nonce.group(1)}"' in a for a in executable)
            assert "onsubmit=" not in response.text and "onclick=" not in response.text
        await client.aclose()


@PROPERTY
@given(
    username=st.text(max_size=80),
    password=st.text(min_size=1, max_size=80).filter(lambda p: p.strip() != ""),
)
async def test_any_login_form_is_refused_cleanly_and_the_password_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, username: str, password: str
) -> None:
    caplog.clear()
    response = await post_login(client, username, "pw-" + password)
    assert response.status_code in (400, 429), response.text[:300]
    assert "smart_assistant_admin" not in response.headers.get("set-cookie", "")
    assert ("pw-" + password) not in caplog.text


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=80))
def test_an_admin_name_is_clean_or_a_422_naming_the_field(raw: str) -> None:
    try:
        name = admin_accounts.clean_name(raw)
    except ValidationFailedError as exc:
        assert [f.field for f in exc.fields] == ["name"]
        return
    assert admin_accounts.NAME_PATTERN.fullmatch(name) and name not in ("api-token",)


@pytest.mark.e2e  # starts processes in its body
@pytest.mark.commits  # the CLI is another process on the session's database
class TestManageAdmin:
    @pytest.mark.timeout(180)
    async def test_admin_create_list_passwd_delete(
        self, tmp_path, service_env: dict[str, str], app: FastAPI
    ) -> None:
        env = bare_env(**service_env)
        common = ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / ".env")]
        name = unique_name()

        def admin(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run(
                [*MANAGE, *common, "admin", *args],
                env=env, input=stdin, capture_output=True, text=True, timeout=120,
            )  # fmt: skip

        made = await asyncio.to_thread(admin, "create", name, "--password-stdin", stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
        assert PASSWORD not in made.stdout + made.stderr
        async with new_client(app) as client:
            assert (await post_login(client, name, PASSWORD)).status_code == 302
        again = await asyncio.to_thread(admin, "create", name, "--password-stdin", stdin=PASSWORD)
        assert again.returncode == 1 and "already exists" in again.stderr
        short = await asyncio.to_thread(
            admin, "create", unique_name(), "--password-stdin", stdin="x"
        )
        assert short.returncode == 1 and "password" in short.stderr
        no_tty = await asyncio.to_thread(admin, "create", unique_name(), stdin="")
        assert no_tty.returncode == 1 and "--password-stdin" in no_tty.stderr
        listed = await asyncio.to_thread(admin, "list")
        assert name in listed.stdout
        deleted = await asyncio.to_thread(admin, "delete", name)
        assert deleted.returncode == 0, deleted.stderr
        async with new_client(app) as client:
            assert (await post_login(client, name, PASSWORD)).status_code == 400


@pytest.mark.e2e  # starts processes in its body
def test_starting_the_service_makes_no_argon2_hash() -> None:
    """The dummy hash (for unknown names) costs 64 MiB and 0.3 s of CPU: made on the first
    failed login, not at every start (it costs memory)."""
    import subprocess
    import sys

    script = (
        "import rest_service.app.main;"
        "from rest_service.app.domain import admin_accounts as a;"
        "print(a._dummy_hash.cache_info().currsize)"
    )
    made = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert made == "0"


async def test_hashes_are_argon2id_at_rfc_9106_strength_unless_the_environment_is_test() -> None:
    """ENVIRONMENT=test (the suite) makes cheap hashes; anything else the RFC 9106 defaults.
    A hash keeps its own parameters, so each verifies whichever is in force."""
    try:
        admin_accounts.use_test_hashing(False)
        strong = await admin_accounts.hash_password(PASSWORD)
        admin_accounts.use_test_hashing(True)
        cheap = await admin_accounts.hash_password(PASSWORD)
        assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
        for made in (strong, cheap):
            assert await admin_accounts._matches(made, PASSWORD)
            assert not await admin_accounts._matches(made, PASSWORD + "!")
    finally:
        admin_accounts.use_test_hashing(
            True
        )  # the suite's own setting, as rest_service's start sets it


async def test_the_suites_rest_service_makes_cheap_hashes(app: FastAPI) -> None:
    name = await make_admin(app, unique_name())
    async with unit_of_work(app.state.app_state) as ctx:
        account = await admin_accounts.find(ctx.session, name)
    assert account is not None and account.password_hash.startswith("$argon2id$v=19$m=8,")
