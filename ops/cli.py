"""The commands of manage.py."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import redis

from common.infrastructure.postgres_url import libpq_dsn
from common.infrastructure.redis_connection import create_sync_redis, topology_of
from common.infrastructure.redis_keys import Names
from common.infrastructure.streams import DEAD_LETTERED
from ops import coverage_report, infra, stack
from ops.envfile import (
    ENV_FILE_VARIABLE,
    EnvFileError,
    fill_missing_secrets,
    read_env_file,
    write_env_file,
)
from ops.infra import ALEMBIC_INI
from ops.processes import (
    ONE_PROCESS,
    Background,
    Foreground,
    ServiceError,
    ServiceSpec,
    check_ports_free,
    healthy,
    peer_urls,
    specs,
)
from ops.services import NAMES, ROOT

TEST_PATHS = {
    "common": "common/tests",
    **{s: f"{s}/tests" for s in NAMES},
    "e2e": "tests",
}


class CommandError(RuntimeError):
    pass


@dataclass
class Context:
    data_dir: Path
    env_file: Path
    base_port: int | None

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def background(self) -> Background:
        return Background(self.run_dir, self.data_dir / "logs")

    def configured(self) -> dict[str, str]:
        """`.env` values, overridden by the process environment (as the services read them)."""
        return {**read_env_file(self.env_file), **os.environ}

    def running(self) -> stack.StackState | None:
        """The stack `up` or `start` recorded in this data folder, while it runs."""
        state = stack.load(self.run_dir)
        if state is None:
            return None
        if state.mode == "up":
            return state if state.manager_alive() else None
        bg = self.background
        processes = [ONE_PROCESS] if state.one_process else state.ports
        return state if any(bg.pid(name) for name in processes) else None


def say(message: str) -> None:
    print(f"manage.py: {message}", file=sys.stderr, flush=True)


# -- environment ---------------------------------------------------------------------------


def ensure_env_file(ctx: Context) -> None:
    """Write the env file on first run; give an existing one the secrets it lacks."""
    if ctx.env_file.exists():
        added = fill_missing_secrets(ctx.env_file)
        if added:
            say(f"added fresh {', '.join(added)} to {ctx.env_file} (they were empty or missing)")
        return
    filled = write_env_file(ROOT / ".env.example", ctx.env_file)
    say(f"wrote {ctx.env_file} with fresh {', '.join(filled)}")
    say("put your TELEGRAM_TOKEN and OPENAI_API_KEY there")
    say("(tg_bot starts once TELEGRAM_TOKEN is set)")


def resolve_infra(ctx: Context, embedded: bool) -> infra.Infra:
    live = ctx.running()
    if live is not None and not embedded:
        return live.infra  # the running stack's servers, whatever the env file says now
    recorded = stack.load(ctx.run_dir)
    saved = recorded.infra if recorded else None
    if saved and not embedded and _infra_alive(saved):
        return saved
    found = infra.resolve(ctx.configured(), ctx.data_dir, embedded)
    say(found.describe())
    return found


def _infra_alive(saved: infra.Infra) -> bool:
    if saved.postgres_origin != "embedded" and saved.redis_origin != "embedded":
        return False  # re-discover: configured or local servers may have changed
    try:
        redis.Redis.from_url(saved.redis_url, socket_connect_timeout=1).ping()
        psycopg2.connect(infra.admin_dsn(saved.database_url), connect_timeout=2).close()
    except (redis.RedisError, psycopg2.Error):
        return False
    return True


def service_env(ctx: Context, found: infra.Infra) -> dict[str, str]:
    """What every service is started with: the env file's values under the process
    environment's, then what this stack decides (servers, ports), which wins over both. The
    services read no env file of their own (SMART_ASSISTANT_ENV_FILE empty): its values are
    here already, and a `.env` in the working directory must not add others."""
    all_specs = specs(ctx.base_port)
    configured = ctx.configured()
    calendar = next(s for s in all_specs if s.name == "google_calendar_service")
    return {
        **configured,
        ENV_FILE_VARIABLE: "",
        "ASYNC_DATABASE_URL": found.database_url,
        "REDIS_URL": found.redis_url,
        **peer_urls({s.name: s.url for s in all_specs}),
        "GOOGLE_REDIRECT_URI": local_redirect_uri(
            configured.get("GOOGLE_REDIRECT_URI", ""), calendar.port
        ),
        "PYTHONUNBUFFERED": "1",
    }


#: google_calendar_service's default callback (its settings), before a base port moves it.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8001/auth/callback"


def local_redirect_uri(configured: str, calendar_port: int) -> str:
    """The OAuth callback on the calendar service's port when it points at this machine (a
    public URL, through a tunnel or proxy, is left as it is)."""
    parts = urlsplit(configured or DEFAULT_REDIRECT_URI)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        return configured
    return parts._replace(netloc=f"{parts.hostname}:{calendar_port}").geturl()


def console_logs(configured: dict[str, str], terminal: bool) -> dict[str, str]:
    """`up` in a terminal shows readable lines unless LOG_FORMAT says otherwise (the services
    write to a pipe, so they would pick JSON on their own)."""
    return {"LOG_FORMAT": "console"} if terminal and not configured.get("LOG_FORMAT") else {}


def run_python(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise CommandError(f"`python {' '.join(args)}` failed with exit code {result.returncode}")


def upgrade(env: dict[str, str]) -> None:
    run_python(["-m", "alembic", "-c", str(ALEMBIC_INI), "upgrade", "head"], env)
    say("database migrated to head")


#: The migration scripts (one Alembic history, rest_service owns it).
VERSIONS_DIR = ALEMBIC_INI.parent / "alembic" / "versions"
_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)


def script_heads(versions: Path = VERSIONS_DIR) -> set[str]:
    """The head revisions of the migration scripts, read as text: starting Alembic (and the
    models it imports) costs a second and a half, this a few milliseconds."""
    scripts = script_revisions(versions)
    return set(scripts) - {parent for parents in scripts.values() for parent in parents}


def script_revisions(versions: Path = VERSIONS_DIR) -> dict[str, set[str]]:
    """Every revision of the migration scripts and the revisions it follows."""
    revisions: dict[str, set[str]] = {}
    for path in versions.glob("*.py"):
        text = path.read_text()
        found = _REVISION.search(text)
        if found is None:
            continue
        down = _DOWN_REVISION.search(text)  # None, 'x', or a merge's ('x', 'y')
        parents = re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)) if down else []
        revisions[found.group(1)] = set(parents)
    return revisions


@dataclass(frozen=True)
class DatabaseState:
    revisions: frozenset[str]  # alembic_version's rows; empty on a new database
    has_assistants: bool
    #: The seeded provider `default` exists without a key (the seed fills it from
    #: OPENAI_API_KEY; the assistant reads keys only from the provider rows).
    keyless_default_provider: bool = False


def database_state(database_url: str) -> DatabaseState:
    """One connection, three questions: which revision the schema is at, whether a
    configuration was imported, and whether the default provider still waits for its key."""
    conn = psycopg2.connect(infra.admin_dsn(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass('alembic_version') IS NOT NULL,"
                " to_regclass('assistants') IS NOT NULL, to_regclass('llm_providers') IS NOT NULL"
            )
            versioned, has_table, has_providers = cur.fetchone()
            revisions: frozenset[str] = frozenset()
            if versioned:
                cur.execute("SELECT version_num FROM alembic_version")
                revisions = frozenset(row[0] for row in cur.fetchall())
            seeded = keyless = False
            if has_table:
                cur.execute("SELECT EXISTS (SELECT 1 FROM assistants)")
                seeded = bool(cur.fetchone()[0])
            if has_providers:
                cur.execute(
                    "SELECT EXISTS (SELECT 1 FROM llm_providers"
                    " WHERE name = 'default' AND api_key_encrypted IS NULL)"
                )
                keyless = bool(cur.fetchone()[0])
            return DatabaseState(revisions, seeded, keyless)
    finally:
        conn.close()


class SchemaBehind(CommandError):
    """The database's schema is not the code's: only `upgrade` (or `up`) migrates."""


def require_head(env: dict[str, str]) -> None:
    """A command that only reads or writes rows runs on a schema at the code's head, and
    never migrates it itself: pointed at production, it must not change the schema."""
    heads = script_heads()
    found = database_state(env["ASYNC_DATABASE_URL"]).revisions
    if found == heads:
        return
    db = ", ".join(sorted(found)) or "none (empty)"
    code = ", ".join(sorted(heads))
    if found - set(script_revisions()):
        raise SchemaBehind(
            f"the database is at revision {db}, which this code does not know (its head is "
            f"{code}); run the newer code"
        )
    raise SchemaBehind(
        f"the database is at revision {db}, the code's head is {code}: "
        "run ./manage.py upgrade first"
    )


def prepare_database(env: dict[str, str], *, seed_if_empty: bool) -> None:
    """Migrate and seed only when needed: a database at head with a configuration is used as
    it is (most starts), so `up` spends no seconds on Alembic or the seed."""
    state = database_state(env["ASYNC_DATABASE_URL"])
    heads = script_heads()
    if heads and state.revisions == heads:
        say(f"database at head ({', '.join(sorted(heads))}); no migration needed")
        if seed_if_empty and not state.has_assistants:
            seed(env, only_if_empty=False)
        elif seed_if_empty and _key_to_store(state, env):
            seed(env, only_if_empty=False)  # the safe seed: puts the key in, adds what is missing
        return
    upgrade(env)
    if seed_if_empty:
        seed(env, only_if_empty=not _key_to_store(state, env))


def _key_to_store(state: DatabaseState, env: dict[str, str]) -> bool:
    """OPENAI_API_KEY was set after the first start: the safe seed puts it, encrypted, into the
    keyless default provider (the assistant reads no key from its environment)."""
    return state.keyless_default_provider and bool(env.get("OPENAI_API_KEY"))


def seed(env: dict[str, str], only_if_empty: bool) -> None:
    if only_if_empty and _has_assistants(env["ASYNC_DATABASE_URL"]):
        return
    run_python(["-m", "rest_service.seed"], env)
    say("default configuration imported")


def _has_assistants(database_url: str) -> bool:
    conn = psycopg2.connect(infra.admin_dsn(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('assistants') IS NOT NULL")
            if not cur.fetchone()[0]:
                return False
            cur.execute("SELECT EXISTS (SELECT 1 FROM assistants)")
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


def runnable(chosen: list[ServiceSpec], env: dict[str, str]) -> list[ServiceSpec]:
    """tg_bot needs a token; without one the rest still runs, and we say why."""
    if not env.get("TELEGRAM_TOKEN"):
        if any(s.name == "tg_bot" for s in chosen):
            say("tg_bot not started: TELEGRAM_TOKEN is empty (set it in .env)")
        return [s for s in chosen if s.name != "tg_bot"]
    return chosen


# -- commands ------------------------------------------------------------------------------


def cmd_up(ctx: Context, args: argparse.Namespace) -> int:
    _refuse_a_second_stack(ctx)
    ensure_env_file(ctx)
    found = infra.resolve(ctx.configured(), ctx.data_dir, args.embedded)
    say(found.describe())
    env = service_env(ctx, found)
    env.update(console_logs(env, sys.stdout.isatty()))
    chosen = runnable(specs(ctx.base_port, args.service), env)
    runner = Foreground(env, ROOT)
    state = stack.StackState(
        mode="up",
        infra=found,
        env_file=str(ctx.env_file.resolve()),
        base_port=ctx.base_port,
        ports={s.name: s.port for s in specs(ctx.base_port)},
        redis_key_prefix=env.get("REDIS_KEY_PREFIX", ""),
        one_process=bool(args.one_process),
        manager_pid=os.getpid(),
    )
    # Installed explicitly: a background launch may have inherited SIGINT as ignored.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        stack.save(state, ctx.run_dir)
        prepare_database(env, seed_if_empty=not args.no_seed)
        check_ports_free(chosen)
        # All at once: each spends its first seconds importing, and the workers wait for
        # rest_service on their own (their /health answers once they have their config).
        if state.one_process:
            runner.launch_one(chosen)
        else:
            for spec in chosen:
                runner.launch(spec)
        state.pids = runner.pids()
        stack.save(state, ctx.run_dir)
        runner.wait_healthy(chosen, timeout=args.timeout)
        say(f"up: {', '.join(f'{s.name} {s.url}' for s in chosen)}. Ctrl-C stops everything.")
        died = runner.wait()
        say(f"{died} exited; stopping the others")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        runner.stop_all()
        infra.stop_embedded(found)
        stack.forget(ctx.run_dir)
        say("stopped")


def _refuse_a_second_stack(ctx: Context) -> None:
    live = ctx.running()
    if live is not None:
        owner = f"`up` (pid {live.manager_pid})" if live.mode == "up" else "`start`"
        raise CommandError(
            f"a stack from {ctx.data_dir} is running already ({owner}); "
            "./manage.py stop it first, or use another --data-dir"
        )


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_start(ctx: Context, args: argparse.Namespace) -> int:
    ensure_env_file(ctx)
    live = ctx.running()
    if live is not None and live.mode == "up":
        _refuse_a_second_stack(ctx)
    before = infra.running_embedded(ctx.data_dir)
    found = resolve_infra(ctx, args.embedded)
    launched: list[str] = []
    try:
        _start_services(ctx, args, found, launched)
    except BaseException:
        _undo_start(ctx, found, before, launched, args.timeout)
        raise
    return 0


def _undo_start(
    ctx: Context, found: infra.Infra, before: set[str], launched: list[str], timeout: float
) -> None:
    """A failed start stops what it started: the services it launched, then the embedded
    servers that did not run before it (and forgets them, so no later `stop` signals a pid
    that may belong to another process by then)."""
    for name in reversed(launched):
        with contextlib.suppress(Exception):
            ctx.background.stop(name, timeout=timeout)
    with contextlib.suppress(Exception):
        if infra.stop_started(found, before):
            stack.forget(ctx.run_dir)
            say("stopped the embedded servers this start had started")


def _start_services(
    ctx: Context, args: argparse.Namespace, found: infra.Infra, launched: list[str]
) -> None:
    env = service_env(ctx, found)
    state = stack.StackState(
        mode="start",
        infra=found,
        env_file=str(ctx.env_file.resolve()),
        base_port=ctx.base_port,
        ports={s.name: s.port for s in specs(ctx.base_port)},
        redis_key_prefix=env.get("REDIS_KEY_PREFIX", ""),
        one_process=bool(args.one_process),
    )
    stack.save(state, ctx.run_dir)
    chosen = runnable(specs(ctx.base_port, args.service), env)
    if any(s.name == "rest_service" for s in chosen):
        prepare_database(env, seed_if_empty=True)
    bg = ctx.background
    if state.one_process:
        _start_one_process(bg, chosen, env, launched, args.timeout)
        return
    starting: list[ServiceSpec] = []
    for spec in chosen:
        if bg.pid(spec.name):
            say(f"{spec.name} already running (pid {bg.pid(spec.name)})")
            continue
        launched.append(spec.name)  # before: one that starts but never gets healthy runs too
        pid = bg.launch(spec, env, ROOT)
        starting.append(spec)
        say(f"{spec.name} started: pid {pid}, {spec.url}, log {bg.log_file(spec.name)}")
    # Waited for together: the start takes as long as the slowest service, not the sum.
    bg.wait_healthy(starting, args.timeout)
    if starting:
        say(f"healthy: {', '.join(s.name for s in starting)}")


def _start_one_process(
    bg: Background,
    chosen: list[ServiceSpec],
    env: dict[str, str],
    launched: list[str],
    timeout: float,
) -> None:
    if bg.pid(ONE_PROCESS):
        say(f"the one process is already running (pid {bg.pid(ONE_PROCESS)})")
        return
    launched.append(ONE_PROCESS)
    pid = bg.launch_one(chosen, env, ROOT)
    say(f"one process started: pid {pid}, log {bg.log_file(ONE_PROCESS)}")
    bg.wait_healthy(chosen, timeout)
    say(f"healthy: {', '.join(f'{s.name} {s.url}' for s in chosen)}")


def _one_process_wanted(ctx: Context, args: argparse.Namespace) -> None:
    """`--one-process` or `--processes` as given; otherwise the way the recorded stack ran
    (`restart`), else separate processes."""
    if args.one_process is None:
        recorded = stack.load(ctx.run_dir)
        args.one_process = bool(recorded and recorded.one_process)


def _known_specs(ctx: Context, only: list[str] | None) -> list[ServiceSpec]:
    """The recorded stack's ports; --base-port (given) wins."""
    recorded = stack.load(ctx.run_dir)
    if recorded is not None and ctx.base_port is None:
        ports = recorded.ports
        return [ServiceSpec(n, ports[n]) for n in NAMES if n in ports and (not only or n in only)]
    return specs(ctx.base_port, only)


#: How long `stop` waits for `up` to stop its services and embedded servers.
UP_STOP_MARGIN_S = 60.0


def cmd_stop(ctx: Context, args: argparse.Namespace) -> int:
    live = ctx.running()
    if live is not None and live.mode == "up" and live.manager_pid is not None:
        if args.service:
            raise CommandError(
                f"these services belong to `up` (pid {live.manager_pid}); "
                "stop the whole stack (./manage.py stop, or Ctrl-C there)"
            )
        _stop_up(live.manager_pid, args.timeout + UP_STOP_MARGIN_S)
        say(f"stopped the stack of `up` (pid {live.manager_pid})")
        return 0
    bg = ctx.background
    if bg.pid(ONE_PROCESS):
        if args.service:
            raise CommandError(
                f"these services share one process (pid {bg.pid(ONE_PROCESS)}); "
                "stop them all (./manage.py stop)"
            )
        bg.stop(ONE_PROCESS, timeout=args.timeout)
        say("the one process stopped")
    for spec in reversed(_known_specs(ctx, args.service)):
        if bg.stop(spec.name, timeout=args.timeout):
            say(f"{spec.name} stopped")
    if not args.service:
        recorded = stack.load(ctx.run_dir)
        if recorded is not None:
            if recorded.mode == "start":
                infra.stop_embedded(recorded.infra)
            stack.forget(ctx.run_dir)  # an `up` that died without cleaning up
    return 0


def _stop_up(pid: int, timeout: float) -> None:
    """SIGTERM to `up`, which stops what it started; wait until it has."""
    import time

    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while stack.pid_alive(pid):
        if time.monotonic() > deadline:
            raise CommandError(f"`up` (pid {pid}) did not stop within {timeout:.0f}s")
        time.sleep(0.1)


def cmd_restart(ctx: Context, args: argparse.Namespace) -> int:
    _one_process_wanted(ctx, args)
    cmd_stop(ctx, args)
    return cmd_start(ctx, args)


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    bg = ctx.background
    live = ctx.running()
    if live is not None:
        owner = f"`up` (pid {live.manager_pid})" if live.mode == "up" else "`start`"
        say(f"stack of {owner}, env file {live.env_file}; {live.infra.describe()}")
    print(f"{'service':<26}{'state':<10}{'pid':<9}{'port':<7}health")
    one_pid = bg.pid(ONE_PROCESS)
    for spec in _known_specs(ctx, args.service):
        pid = live.service_pid(spec.name) if live and live.mode == "up" else bg.pid(spec.name)
        pid = pid or one_pid
        state = "running" if pid else "stopped"
        health = ("ok" if healthy(spec.url) else "unhealthy") if pid else "-"
        print(f"{spec.name:<26}{state:<10}{pid or '-':<9}{spec.port:<7}{health}")
    return 0


def cmd_test(ctx: Context, args: argparse.Namespace) -> int:
    """pytest on the chosen parts; on embedded Postgres and Redis when none is found
    (infra.suite_servers), stopped when it ends."""
    paths = [TEST_PATHS[s] for s in args.service or []]
    pytest_args = list(args.pytest_args)
    if "--" in pytest_args:  # it ends manage.py's options; pytest would take what follows as paths
        pytest_args.remove("--")
    # The quick loop: no processes, no policy checks, few Hypothesis examples (tests/tiers.py).
    fast = ["-m", "unit or integration", "--hypothesis-profile=fast"] if args.fast else []
    # pytest-randomly is blocked in pyproject's addopts; `-p randomly` unblocks it (the seed it
    # prints, `-- -p randomly --randomly-seed=N`, repeats an order)
    shuffled = ["-p", "randomly"] if args.random_order else []
    command = [sys.executable, "-m", "pytest", *paths, *fast, *shuffled, *pytest_args]
    stop = StopOnSignal()
    # The servers are stopped on the way out, a SIGTERM's too. The handler comes before the
    # line that says they run: a SIGTERM sent on seeing it (tests/test_bare_machine.py) beat
    # the handler in a slower run (--coverage).
    with (
        infra.suite_servers(dict(os.environ)) as servers,
        stop.on(signal.SIGTERM),
        WorkerReservation() as reservation,
    ):
        if servers.started:
            urls = ", ".join(servers.started.values())
            say(f"no {' or '.join(servers.started)} found: the tests use embedded ones ({urls})")
        chosen = any(a.startswith("--dist") for a in pytest_args)
        default = _default_workers(args, pytest_args, servers.env, reservation)
        if default:
            workers, dist = default
            command += ["-n", workers, *([] if chosen else ["--dist", dist])]
        elif _parallel(pytest_args) and not chosen:
            command += ["--dist", "loadfile"]  # a file's module fixtures set up once, on one worker
        if args.coverage:
            coverage_report.erase()
            command = coverage_report.wrap(command)
        code = stop.run(command, env=_bytecode_cached(servers.env))
    return coverage_report.report(code) if args.coverage else code


class StopOnSignal:
    """pytest as a child that a signal to manage.py stops (a CI job cancelled). The handler
    only notes the signal and kills the child once there is one: an exception raised from it
    while `Popen` was starting the child left the child running, unowned, with the run's
    output open, so whoever waited for that output waited for the child's own end."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._child: subprocess.Popen[bytes] | None = None

    @contextlib.contextmanager
    def on(self, signum: int) -> Iterator[None]:
        previous = signal.signal(signum, self._note)
        try:
            yield
        finally:
            signal.signal(signum, previous)

    def _note(self, signum: int, _frame: object) -> None:
        self.signum = signum
        if self._child is not None:
            self._child.kill()

    def run(self, command: list[str], env: dict[str, str]) -> int:
        """The child's exit code; 128 + the signal's number when a signal stopped it, or
        stopped the run before it began."""
        code = 0
        if self.signum is None:
            self._child = subprocess.Popen(command, cwd=ROOT, env=env)
            if self._noted():  # while the child started
                self._child.kill()
            code = self._child.wait()
        return code if self.signum is None else 128 + self.signum

    def _noted(self) -> bool:
        return self.signum is not None


def _bytecode_cached(env: dict[str, str]) -> dict[str, str]:
    """Without PYTHONDONTWRITEBYTECODE: the suite starts a few hundred Python processes
    (services, programs, xdist workers), and with it each compiled the tree again and pytest
    rewrote every test module's asserts again (collection took minutes instead of seconds)."""
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _default_workers(
    args: argparse.Namespace,
    pytest_args: list[str],
    env: dict[str, str],
    reservation: WorkerReservation,
) -> tuple[str, str] | None:
    """pytest-xdist's workers and distribution when `pytest_args` give no `-n`."""
    if _parallel(pytest_args):
        return None
    if args.fast:
        return str(fast_workers()), "worksteal"
    if _whole_suite(args, pytest_args):
        found = infra.find_postgres(env.get("TEST_DATABASE_URL"))
        room = reservation.take(found.url) if found else None
        workers = whole_suite_workers(room)
        if room is not None and workers < whole_suite_workers():
            say(f"room for {room} more Postgres connections: {workers} pytest-xdist worker(s)")
        if room is not None:
            reservation.hold(workers)
        return str(workers), "loadfile"
    return None


def fast_workers() -> int:
    """`./manage.py test --fast`'s pytest-xdist workers when no `-n` is given: two more than
    cores, at most 8 (each worker collects the whole suite, 5 s of CPU). Its tests wait on
    Redis, Postgres and the stand-ins a good part of their time, and the idle workers take
    the others' tests (`worksteal`). On 2 cores, 4 232 tests: 85.8 s of pytest with 3
    workers, 79.5-81.8 s with 4, 83.9 s with 5; 4 workers held at most 11 Postgres
    connections at once."""
    return min(8, (os.cpu_count() or 1) + 2)


#: The Postgres connections one worker of the whole suite may hold at once: its tests, the
#: worker's PgBouncer and the services its tests start (4 workers held at most 72, sampled
#: each half second over a whole run under coverage; docs/testing.md).
CONNECTIONS_A_WORKER = 20


def whole_suite_workers(room: int | None = None) -> int:
    """`./manage.py test`'s pytest-xdist workers when no `-n` is given: two a core, at most 4,
    and no more than `room` (`room_left` on the Postgres server) lets each hold
    `CONNECTIONS_A_WORKER`; at least one. The e2e tier waits on processes and servers: on 2
    cores it left 41 % of the CPU idle with 2 workers (683 s) and 7.5 % with 4 (483 s)."""
    workers = max(1, min(4, 2 * (os.cpu_count() or 1)))
    if room is not None:
        workers = max(1, min(workers, room // CONNECTIONS_A_WORKER))
    return workers


#: How a run of the whole suite names the connection that holds its workers' share.
RESERVATION_NAME = "smart-assistant tests: {} workers"
#: One lock for every run's look at the room, so two runs started together count each other.
_RESERVATION_LOCK = 0x5A7E57


def room_left(limit: int, open_now: int, reserved_workers: int) -> int:
    """The connections still free for a new run: the server's `limit`, less what is open now
    or what the runs already there may hold at their peak, whichever is more."""
    return limit - max(open_now, reserved_workers * CONNECTIONS_A_WORKER)


class WorkerReservation:
    """The whole suite's share of the Postgres server, held while it runs: a connection named
    for its workers (`RESERVATION_NAME`). A run started beside it counts those workers at
    their peak, not at what they hold at that moment: two runs that only looked at the open
    connections took four workers each and ran the server out (docs/testing.md)."""

    def __init__(self) -> None:
        self._connection: Any = None

    def __enter__(self) -> WorkerReservation:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def take(self, url: str) -> int | None:
        """The room left on the server at `url` (`room_left`), the lock on it held until
        `hold`; None when the server cannot say (nothing is held then)."""
        query = f"""
            SELECT current_setting('max_connections')::int
                   - current_setting('superuser_reserved_connections')::int,
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                   (SELECT coalesce(sum(substring(application_name from '(\\d+) workers$')::int), 0)
                      FROM pg_stat_activity
                     WHERE application_name LIKE '{RESERVATION_NAME.format("%")}'
                       AND pid <> pg_backend_pid())
        """
        try:
            connection = psycopg2.connect(libpq_dsn(url), connect_timeout=5)
        except psycopg2.Error:
            return None
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [_RESERVATION_LOCK])
                cursor.execute(query)
                limit, open_now, reserved = cursor.fetchone()
        except psycopg2.Error:
            connection.close()
            return None
        self._connection = connection
        return room_left(int(limit), int(open_now), int(reserved))

    def hold(self, workers: int) -> None:
        """Names the connection for `workers` and lets the next run look."""
        with self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('application_name', %s, false)",
                [RESERVATION_NAME.format(workers)],
            )
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_RESERVATION_LOCK])


def _whole_suite(args: argparse.Namespace, pytest_args: list[str]) -> bool:
    """No service chosen and no test file or folder named: the run that gets workers by
    default (a named file or a collection runs in this one process, as pytest would)."""
    if args.service or {"--co", "--collect-only"} & set(pytest_args):
        return False
    return not any(Path(arg.split("::")[0]).exists() for arg in pytest_args if arg[:1] != "-")


def _parallel(pytest_args: list[str]) -> bool:
    """pytest-xdist's `-n N` (`-nN`, `--numprocesses[=]N`) is among `pytest_args`."""
    return any(
        arg == "-n" or (arg.startswith("-n") and arg[2:3].isalnum()) or arg.startswith("--numproc")
        for arg in pytest_args
    )


def cmd_bench(ctx: Context, args: argparse.Namespace) -> int:
    extra = list(args.pytest_args)
    if "--" in extra:  # it ends manage.py's options (`bench -- --help`), as for `test`
        extra.remove("--")
    command = [sys.executable, "-m", "bench.pipeline", *extra]
    return subprocess.run(command, cwd=ROOT).returncode


def cmd_migrate(ctx: Context, args: argparse.Namespace) -> int:
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    upgrade(env)
    run_python(
        ["-m", "alembic", "-c", str(ALEMBIC_INI), "revision", "--autogenerate", "-m", args.message],
        env,
    )
    return 0


def cmd_upgrade(ctx: Context, args: argparse.Namespace) -> int:
    upgrade(service_env(ctx, resolve_infra(ctx, args.embedded)))
    return 0


def cmd_seed(ctx: Context, args: argparse.Namespace) -> int:
    """The safe seed (adds what is missing by name), or `--reset` (overwrites, after showing
    the differences and a yes); rest_service/seed says which and asks."""
    if args.yes and not args.reset:
        raise CommandError("--yes confirms --reset; the plain seed overwrites nothing")
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    require_head(env)
    flags = [*(["--reset"] if args.reset else []), *(["--yes"] if args.yes else [])]
    # Its exit code as it is: a refused reset has said why already.
    return subprocess.run(
        [sys.executable, "-m", "rest_service.seed", *flags], cwd=ROOT, env=env
    ).returncode


def cmd_rebuild(ctx: Context, args: argparse.Namespace) -> int:
    """`docker compose build`, then `up -d --no-deps` for the rebuilt services that were
    running, so they run the new image (a build alone replaces no container)."""
    docker = shutil.which("docker")
    if docker is None:
        raise CommandError("docker is not installed; rebuild needs `docker compose`")
    compose = [docker, "compose"]
    if subprocess.run([*compose, "build", *(args.service or [])], cwd=ROOT).returncode != 0:
        raise CommandError("docker compose build failed; see above")
    listed = subprocess.run(
        [*compose, "ps", "--services", "--status", "running"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    running = set(listed.stdout.split())
    rebuilt = [s for s in (args.service or NAMES) if s in running]
    if not rebuilt:
        say("rebuilt; none of those services is running, so nothing restarted")
        return 0
    up = subprocess.run([*compose, "up", "-d", "--no-deps", *rebuilt], cwd=ROOT)
    if up.returncode != 0:
        raise CommandError("docker compose up failed; see above")
    say(f"rebuilt and restarted {', '.join(rebuilt)}")
    return 0


def redis_target(ctx: Context) -> tuple[str, str]:
    """(Redis URL, key prefix) of the running recorded stack, else the configured ones."""
    live = ctx.running()
    if live is not None:
        return live.redis_url, live.redis_key_prefix
    configured = ctx.configured()
    if not configured.get("REDIS_URL"):
        raise CommandError(
            f"no stack is running from {ctx.data_dir} (start one with ./manage.py up) "
            "and REDIS_URL is not set"
        )
    return configured["REDIS_URL"], configured.get("REDIS_KEY_PREFIX", "")


def redis_topology(ctx: Context) -> dict[str, Any]:
    """Sentinel or Cluster as configured; a stack `up` started has one plain Redis."""
    if ctx.running() is not None:
        return {}
    return topology_of(ctx.configured())


def _dlq_client(ctx: Context) -> tuple[redis.Redis, Names]:
    url, prefix = redis_target(ctx)
    return create_sync_redis(url, **redis_topology(ctx)), Names(prefix)


def cmd_dlq(ctx: Context, args: argparse.Namespace) -> int:
    from ops import dlq  # the queue's models and logging: only this command needs them

    client, names = _dlq_client(ctx)
    if args.action == "list":
        rows = dlq.list_dead(client, names)
        for row in rows:
            stream, attempts = row.get("stream", "?"), row.get("attempts", "?")
            print(
                f"{row['id']:<18} {stream:<20} attempts={attempts:<3}"
                f" {row.get('failed_at', '')[:19]}  {row.get('error', '')[:100]}"
            )
        print(f"{len(rows)} dead letter(s)")
    elif args.action == "show":
        _stream, entry = dlq.find_dead(client, names, _need_id(args), args.stream)
        print(json.dumps(entry, indent=2, ensure_ascii=False))
    elif args.action == "replay":
        new_id = dlq.replay(client, names, _need_id(args), args.stream)
        say(f"replayed {args.id} as {new_id}")
    elif args.action == "purge":
        if not args.yes:
            raise CommandError("purge deletes every dead letter; confirm with --yes")
        say(f"purged {dlq.purge(client, names)} dead letter(s)")
    return 0


def _need_id(args: argparse.Namespace) -> str:
    if not args.id:
        raise CommandError(f"dlq {args.action} needs an entry ID (see `dlq list`)")
    return str(args.id)


def cmd_chat(ctx: Context, args: argparse.Namespace) -> int:
    import asyncio

    from ops.chat import ChatTimeout, run_chat

    live = ctx.running()
    if live is not None:  # the stack's own env file, Redis and ports
        configured = {**read_env_file(Path(live.env_file)), **os.environ}
    else:
        configured = ctx.configured()
    token = configured.get("SERVICE_API_TOKEN", "")
    if not token:
        raise CommandError("SERVICE_API_TOKEN is not set (run ./manage.py up once to make .env)")
    redis_url, prefix = redis_target(ctx)
    if ctx.base_port is not None:  # given: it wins over the record and the env file
        rest_url = specs(ctx.base_port, ["rest_service"])[0].url
    elif live is not None:
        rest_url = live.url("rest_service")
    else:
        rest_url = configured.get("REST_SERVICE_URL") or specs(None, ["rest_service"])[0].url
    try:
        return asyncio.run(
            run_chat(
                redis_url,
                prefix,
                redis_topology(ctx),
                rest_url,
                token,
                telegram_id=args.telegram_id,
                name=args.name,
                language=args.language,
                one_message=args.message,
                timeout=args.timeout,
            )
        )
    except ChatTimeout as exc:
        raise CommandError(str(exc)) from exc


def cmd_rotate_key(ctx: Context, args: argparse.Namespace) -> int:
    """Re-encrypt every secret under the newest LLM_MODEL_DECRYPT_KEY (docs/security.md)."""
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    require_head(env)
    run_python(["-m", "rest_service.rotate_key"], env)
    return 0


def cmd_admin(ctx: Context, args: argparse.Namespace) -> int:
    """Named web-admin accounts (rest_service/admin_cli.py; the password is asked there)."""
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    require_head(env)
    extra = ["--password-stdin"] if args.password_stdin else []
    run_python(
        ["-m", "rest_service.admin_cli", args.action, *([args.name] if args.name else []), *extra],
        env,
    )
    return 0


def cmd_demo(ctx: Context, args: argparse.Namespace) -> int:
    from ops.demo import DEMO_DATABASE, DEMO_PREFIX, DemoError, DemoOptions, run_demo, script_lines

    lines = None
    if args.script or args.message:
        lines = [*(script_lines(args.script) if args.script else []), *(args.message or [])]
    options = DemoOptions(
        data_dir=ctx.data_dir / "demo",
        base_port=ctx.base_port,
        embedded=args.embedded,
        database=args.db_name or DEMO_DATABASE,
        prefix=args.key_prefix if args.key_prefix is not None else DEMO_PREFIX,
        lines=lines,
        timeout=args.timeout,
        reply_timeout=args.reply_timeout,
        env_file=ctx.env_file,
    )
    try:
        return run_demo(options)
    except DemoError as exc:
        raise CommandError(str(exc)) from exc


# -- parser --------------------------------------------------------------------------------


def one_process_choice(
    parser: argparse.ArgumentParser, default: str = "default: separate processes"
) -> None:
    """`--one-process` (every service in one process, for one small machine) or
    `--processes` (a process per service)."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--one-process",
        dest="one_process",
        action="store_true",
        default=None,
        help=f"run the services in one process (less memory on one machine; {default})",
    )
    mode.add_argument(
        "--processes",
        dest="one_process",
        action="store_false",
        help="run each service in a process of its own",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manage.py", description="Run, test and operate Smart Assistant."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("SMART_ASSISTANT_DATA", ROOT / ".data")),
        help="where embedded servers, pid and log files live (default .data/)",
    )
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="default .env")
    parser.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ["SMART_ASSISTANT_BASE_PORT"])
        if os.environ.get("SMART_ASSISTANT_BASE_PORT")
        else None,
        help="run the six services on N..N+5 instead of 8000..8005",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str,
        func: Callable[[Context, argparse.Namespace], int],
        help_text: str,
        *,
        services: bool = False,
        embedded: bool = False,
        timeout: float | None = None,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if services:
            p.add_argument(
                "--service",
                action="append",
                choices=NAMES,
                help="only this service (repeatable); default all",
            )
        if embedded:
            p.add_argument(
                "--embedded",
                action="store_true",
                help="use embedded Postgres and Redis under the data folder",
            )
        if timeout is not None:
            p.add_argument(
                "--timeout",
                type=float,
                default=timeout,
                help=f"seconds to wait for each service (default {timeout:g})",
            )
        return p

    up = command(
        "up",
        cmd_up,
        "run everything in the foreground; Ctrl-C stops all",
        services=True,
        embedded=True,
        timeout=60,
    )
    up.add_argument("--no-seed", action="store_true", help="do not import the default config")
    one_process_choice(up)
    start = command(
        "start",
        cmd_start,
        "start services in the background and wait for /health",
        services=True,
        embedded=True,
        timeout=60,
    )
    one_process_choice(start)
    command(
        "stop",
        cmd_stop,
        "stop background services (SIGTERM, then SIGKILL)",
        services=True,
        timeout=10,
    )
    restart = command(
        "restart",
        cmd_restart,
        "stop, then start, background services",
        services=True,
        embedded=True,
        timeout=60,
    )
    one_process_choice(restart, "default: as they ran")
    command("status", cmd_status, "each service: running or not, pid, port, health", services=True)
    command(
        "rotate-key",
        cmd_rotate_key,
        "re-encrypt every secret under the newest LLM_MODEL_DECRYPT_KEY (newest first)",
        embedded=True,
    )
    test = sub.add_parser(
        "test",
        help="run the test suite against real Postgres and Redis",
        description="Run the test suite; extra arguments go to pytest.",
    )
    test.add_argument(
        "--service",
        action="append",
        choices=sorted(TEST_PATHS),
        help="only this service's tests (repeatable)",
    )
    test.add_argument(
        "--fast",
        action="store_true",
        help="only the unit and integration tiers, with few Hypothesis examples",
    )
    test.add_argument(
        "--random-order",
        action="store_true",
        help="shuffle the tests (pytest-randomly; it prints the seed that repeats the order)",
    )
    test.add_argument(
        "--coverage",
        action="store_true",
        help="measure the production code in every process the tests start; print the table "
        "per package and fail under the floor (test-artifacts/coverage/ has the reports)",
    )
    test.set_defaults(func=cmd_test)
    bench = sub.add_parser(
        "bench",
        help="the whole-pipeline benchmark (not a test)",
        description="Run bench/pipeline.py; extra arguments go to it (--scenario NAME, ...).",
    )
    bench.set_defaults(func=cmd_bench)
    migrate = command(
        "migrate", cmd_migrate, "make a new Alembic revision (autogenerate)", embedded=True
    )
    migrate.add_argument("message", help="the revision's message")
    command("upgrade", cmd_upgrade, "apply migrations up to head", embedded=True)
    seeding = command(
        "seed",
        cmd_seed,
        "add the default configuration's missing rows (never overwrites; --reset does)",
        embedded=True,
    )
    seeding.add_argument(
        "--reset",
        action="store_true",
        help="overwrite with the defaults: shows the differences, then asks (y/N)",
    )
    seeding.add_argument("--yes", action="store_true", help="reset without asking")
    command("rebuild", cmd_rebuild, "docker compose build", services=True)
    admin = command(
        "admin",
        cmd_admin,
        "web admin accounts: create NAME | passwd NAME | delete NAME | list",
        embedded=True,
    )
    admin.add_argument("action", choices=["create", "passwd", "delete", "list"])
    admin.add_argument("name", nargs="?", help="the admin's name (create, passwd, delete)")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line of stdin"
    )
    dead = command("dlq", cmd_dlq, "dead letters: list | show ID | replay ID | purge --yes")
    dead.add_argument("action", choices=["list", "show", "replay", "purge"])
    dead.add_argument("id", nargs="?", help="a dead-letter entry id (show, replay)")
    dead.add_argument("--yes", action="store_true", help="confirm purge")
    dead.add_argument(
        "--stream",
        choices=DEAD_LETTERED,
        help="the stream whose dead letter ID is (show, replay; needed when two hold ID)",
    )
    chat = command(
        "chat", cmd_chat, "talk to the assistant from the terminal (no Telegram)", timeout=120
    )
    chat.add_argument("-m", "--message", help="send one message, print the answer, exit")
    chat.add_argument(
        "--telegram-id",
        type=int,
        default=1,
        help="the pseudo Telegram id of the terminal user (default 1)",
    )
    chat.add_argument("--name", default="Admin", help="the terminal user's first name")
    chat.add_argument("--language", default=None, help="language code, e.g. en or ru")
    demo = command(
        "demo",
        cmd_demo,
        "the whole stack against the sandbox stand-ins; chat with the bot from the terminal",
        embedded=True,
        timeout=90,
    )
    demo.add_argument("--script", help="run the lines of FILE ('-': stdin), print, exit")
    demo.add_argument(
        "-m", "--message", action="append", help="send this line (repeatable), print, exit"
    )
    demo.add_argument(
        "--reply-timeout", type=float, default=60, help="seconds to wait for each answer"
    )
    demo.add_argument("--db-name", help="the demo's database (default smart_assistant_demo)")
    demo.add_argument("--key-prefix", help="the demo's REDIS_KEY_PREFIX (default demo:)")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command in ("test", "bench"):
        args.pytest_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    ctx = Context(args.data_dir.resolve(), args.env_file, args.base_port)
    try:
        code: int = args.func(ctx, args)
        return code
    except (
        CommandError,
        ServiceError,
        EnvFileError,
        infra.InfraError,
    ) as exc:
        say(f"error: {exc}")
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        say(f"error: Redis does not answer: {_first_line(exc)}")
    except psycopg2.OperationalError as exc:
        say(f"error: Postgres does not answer: {_first_line(exc)}")
    except Exception as exc:
        if _dead_letter_error(exc):
            say(f"error: {exc}")
        elif _rest_service_unreachable(exc):
            say(f"error: rest_service does not answer: {_first_line(exc)}")
        else:
            raise
    return 1


def _dead_letter_error(exc: Exception) -> bool:
    from ops.dlq import DeadLetterError

    return isinstance(exc, DeadLetterError)


def _rest_service_unreachable(exc: Exception) -> bool:
    # Imported here: aiohttp and the rest client (with structlog and rich) cost every command
    # a quarter of a second at start, and only `chat` talks to rest_service.
    import aiohttp

    from common.infrastructure.rest_client import RestServiceUnavailable

    return isinstance(exc, aiohttp.ClientConnectionError | RestServiceUnavailable)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
