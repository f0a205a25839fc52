"""The commands of manage.py."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import redis

from common.names import Names
from ops import dlq, infra
from ops.envfile import read_env_file, write_env_file
from ops.infra import ALEMBIC_INI
from ops.processes import (
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


def say(message: str) -> None:
    print(f"manage.py: {message}", file=sys.stderr, flush=True)


# -- environment ---------------------------------------------------------------------------


def ensure_env_file(ctx: Context) -> None:
    if ctx.env_file.exists():
        return
    filled = write_env_file(ROOT / ".env.example", ctx.env_file)
    say(f"wrote {ctx.env_file} with fresh {', '.join(filled)}")
    say("put your TELEGRAM_TOKEN and OPENAI_API_KEY there")
    say("(tg_bot starts once TELEGRAM_TOKEN is set)")


def resolve_infra(ctx: Context, embedded: bool) -> infra.Infra:
    saved = infra.load(ctx.run_dir / "infra.json")
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
    all_specs = specs(ctx.base_port)
    return {
        **ctx.configured(),
        "ASYNC_DATABASE_URL": found.database_url,
        "REDIS_URL": found.redis_url,
        **peer_urls({s.name: s.url for s in all_specs}),
        "PYTHONUNBUFFERED": "1",
    }


def run_python(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise CommandError(f"`python {' '.join(args)}` failed with exit code {result.returncode}")


def upgrade(env: dict[str, str]) -> None:
    if ALEMBIC_INI.exists():
        run_python(["-m", "alembic", "-c", str(ALEMBIC_INI), "upgrade", "head"], env)
        say("database migrated to head")


def seed(env: dict[str, str], only_if_empty: bool) -> None:
    if not (ROOT / "rest_service" / "seed").exists():
        return
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
    ensure_env_file(ctx)
    found = infra.resolve(ctx.configured(), ctx.data_dir, args.embedded)
    say(found.describe())
    env = service_env(ctx, found)
    chosen = runnable(specs(ctx.base_port, args.service), env)
    runner = Foreground(env, ROOT)
    # Installed explicitly: a background launch may have inherited SIGINT as ignored.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        upgrade(env)
        if not args.no_seed:
            seed(env, only_if_empty=True)
        check_ports_free(chosen)
        for spec in chosen:
            runner.start(spec, timeout=args.timeout)
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
        say("stopped")


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_start(ctx: Context, args: argparse.Namespace) -> int:
    ensure_env_file(ctx)
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
            (ctx.run_dir / "infra.json").unlink(missing_ok=True)
            say("stopped the embedded servers this start had started")


def _start_services(
    ctx: Context, args: argparse.Namespace, found: infra.Infra, launched: list[str]
) -> None:
    infra.save(found, ctx.run_dir / "infra.json")
    (ctx.run_dir / "ports.json").write_text(
        json.dumps({s.name: s.port for s in specs(ctx.base_port)})
    )
    env = service_env(ctx, found)
    chosen = runnable(specs(ctx.base_port, args.service), env)
    if any(s.name == "rest_service" for s in chosen):
        upgrade(env)
        seed(env, only_if_empty=True)
    bg = ctx.background
    for spec in chosen:
        if bg.pid(spec.name):
            say(f"{spec.name} already running (pid {bg.pid(spec.name)})")
            continue
        launched.append(spec.name)  # before: one that starts but never gets healthy runs too
        pid = bg.start(spec, env, ROOT, args.timeout)
        say(f"{spec.name} started: pid {pid}, {spec.url}, log {bg.log_file(spec.name)}")


def _known_specs(ctx: Context, only: list[str] | None) -> list[ServiceSpec]:
    ports_file = ctx.run_dir / "ports.json"
    if ports_file.exists() and ctx.base_port is None:
        ports = json.loads(ports_file.read_text())
        return [ServiceSpec(n, ports[n]) for n in NAMES if n in ports and (not only or n in only)]
    return specs(ctx.base_port, only)


def cmd_stop(ctx: Context, args: argparse.Namespace) -> int:
    bg = ctx.background
    for spec in reversed(_known_specs(ctx, args.service)):
        if bg.stop(spec.name, timeout=args.timeout):
            say(f"{spec.name} stopped")
    if not args.service:
        saved = infra.load(ctx.run_dir / "infra.json")
        if saved:
            infra.stop_embedded(saved)
            (ctx.run_dir / "infra.json").unlink()
    return 0


def cmd_restart(ctx: Context, args: argparse.Namespace) -> int:
    cmd_stop(ctx, args)
    return cmd_start(ctx, args)


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    bg = ctx.background
    print(f"{'service':<26}{'state':<10}{'pid':<9}{'port':<7}health")
    for spec in _known_specs(ctx, args.service):
        pid = bg.pid(spec.name)
        state = "running" if pid else "stopped"
        health = ("ok" if healthy(spec.url) else "unhealthy") if pid else "-"
        print(f"{spec.name:<26}{state:<10}{pid or '-':<9}{spec.port:<7}{health}")
    return 0


def cmd_test(ctx: Context, args: argparse.Namespace) -> int:
    paths = [TEST_PATHS[s] for s in args.service or []]
    command = [sys.executable, "-m", "pytest", *paths, *args.pytest_args]
    return subprocess.run(command, cwd=ROOT).returncode


def cmd_bench(ctx: Context, args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "bench.pipeline", *args.pytest_args]
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
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    upgrade(env)
    seed(env, only_if_empty=False)
    return 0


def cmd_rebuild(ctx: Context, args: argparse.Namespace) -> int:
    docker = shutil.which("docker")
    if docker is None:
        raise CommandError("docker is not installed; rebuild needs `docker compose`")
    return subprocess.run([docker, "compose", "build", *(args.service or [])], cwd=ROOT).returncode


def _dlq_client(ctx: Context) -> tuple[redis.Redis, Names]:
    configured = ctx.configured()
    saved = infra.load(ctx.run_dir / "infra.json")
    url = configured.get("REDIS_URL") or (saved.redis_url if saved else infra.LOCAL_REDIS_URL)
    return redis.Redis.from_url(url), Names(configured.get("REDIS_KEY_PREFIX", ""))


def cmd_dlq(ctx: Context, args: argparse.Namespace) -> int:
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
        _stream, entry = dlq.find_dead(client, names, _need_id(args))
        print(json.dumps(entry, indent=2, ensure_ascii=False))
    elif args.action == "replay":
        new_id = dlq.replay(client, names, _need_id(args))
        say(f"replayed {args.id} as {new_id}")
    elif args.action == "purge":
        if not args.yes:
            raise CommandError("purge deletes every dead letter; confirm with --yes")
        say(f"purged {dlq.purge(client, names)} dead letter(s)")
    return 0


def _need_id(args: argparse.Namespace) -> str:
    if not args.id:
        raise CommandError(f"dlq {args.action} needs an entry ID (see `dlq list`)")
    return args.id


def cmd_chat(ctx: Context, args: argparse.Namespace) -> int:
    import asyncio

    from ops.chat import ChatTimeout, run_chat

    configured = ctx.configured()
    saved = infra.load(ctx.run_dir / "infra.json")
    redis_url = configured.get("REDIS_URL") or (saved.redis_url if saved else infra.LOCAL_REDIS_URL)
    rest_url = configured.get("REST_SERVICE_URL") or specs(ctx.base_port, ["rest_service"])[0].url
    token = configured.get("SERVICE_API_TOKEN", "")
    if not token:
        raise CommandError("SERVICE_API_TOKEN is not set (run ./manage.py up once to make .env)")
    try:
        return asyncio.run(
            run_chat(
                redis_url,
                configured.get("REDIS_KEY_PREFIX", ""),
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
    upgrade(env)
    run_python(["-m", "rest_service.rotate_key"], env)
    return 0


def cmd_admin(ctx: Context, args: argparse.Namespace) -> int:
    """Named web-admin accounts (rest_service/admin_cli.py; the password is asked there)."""
    env = service_env(ctx, resolve_infra(ctx, args.embedded))
    upgrade(env)
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
        help="run the five services on N..N+4 instead of 8000..8004",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str,
        func,
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
    command(
        "start",
        cmd_start,
        "start services in the background and wait for /health",
        services=True,
        embedded=True,
        timeout=60,
    )
    command(
        "stop",
        cmd_stop,
        "stop background services (SIGTERM, then SIGKILL)",
        services=True,
        timeout=10,
    )
    command(
        "restart",
        cmd_restart,
        "stop, then start, background services",
        services=True,
        embedded=True,
        timeout=60,
    )
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
    command("seed", cmd_seed, "import the default configuration (idempotent)", embedded=True)
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
        return args.func(ctx, args)
    except (CommandError, ServiceError, infra.InfraError, dlq.DeadLetterNotFound) as exc:
        say(f"error: {exc}")
        return 1
