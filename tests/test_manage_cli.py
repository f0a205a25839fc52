"""manage.py's commands called in this process (`ops.cli.main(argv)`), as an admin meets
them: the refusals and one-line errors of `dlq`, and `status` and `stop` acting on the stack a
data folder records."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg2
import pytest
import redis as syncredis

from common.infrastructure.redis_keys import TELEGRAM_UPDATES, TO_SECRETARY, TO_TELEGRAM, Names
from ops import stack
from ops.cli import main
from ops.infra import Infra, admin_dsn
from tests.test_manage import free_base_port

#: Settings of the shell running the tests that would point the commands elsewhere.
OUTSIDE = ("REDIS_URL", "REDIS_KEY_PREFIX", "REDIS_SENTINELS", "REDIS_CLUSTER",
           "SMART_ASSISTANT_BASE_PORT")  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """manage.py's options for a data folder and env file of this test's own."""
    for name in OUTSIDE:
        monkeypatch.delenv(name, raising=False)
    return ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / "none.env")]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_dlq_needs_an_id_a_stream_when_two_hold_it_and_a_yes_to_purge(
    folder: list[str],
    redis_url: str,
    names: Names,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_KEY_PREFIX", names.prefix)
    client = syncredis.Redis.from_url(redis_url)
    for stream in (TO_SECRETARY, TO_TELEGRAM, TELEGRAM_UPDATES):
        client.xadd(names.dead(stream), {"data": "{}", "error": "boom"}, id="5-0")

    assert run([*folder, "dlq", "show"], capsys)[2] == (
        "manage.py: error: dlq show needs an entry ID (see `dlq list`)\n"
    )
    code, _, err = run([*folder, "dlq", "show", "9-0"], capsys)
    assert code == 1 and err.startswith("manage.py: error: no dead letter 9-0 in ")
    code, _, err = run([*folder, "dlq", "replay", "5-0"], capsys)
    assert code == 1 and "name one (--stream)" in err
    code, _, err = run([*folder, "dlq", "replay", "5-0", "--stream", TELEGRAM_UPDATES], capsys)
    assert code == 1 and "nothing takes it back" in err
    code, _, err = run([*folder, "dlq", "replay", "5-0", "--stream", TO_SECRETARY], capsys)
    assert code == 0 and err.startswith("manage.py: replayed 5-0 as ")
    assert client.xlen(names.stream(TO_SECRETARY)) == 1

    code, _, err = run([*folder, "dlq", "purge"], capsys)
    assert code == 1 and "confirm with --yes" in err
    assert client.xlen(names.dead(TO_TELEGRAM)) == 1
    assert run([*folder, "dlq", "purge", "--yes"], capsys)[2] == (
        "manage.py: purged 2 dead letter(s)\n"
    )
    code, out, _ = run([*folder, "dlq", "list"], capsys)
    assert code == 0 and out == "0 dead letter(s)\n"
    client.delete(names.stream(TO_SECRETARY))
    client.close()


def test_an_argument_no_command_takes_is_refused(
    folder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*folder, "status", "--verbose"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --verbose" in capsys.readouterr().err


def recorded_up(tmp_path: Path, redis_url: str, prefix: str, base: int) -> stack.StackState:
    """The record `up` leaves while it runs; this process stands in for `up` and for its
    rest_service (alive pids), whose port nothing answers on."""
    state = stack.StackState(
        mode="up",
        infra=Infra("postgresql+asyncpg://127.0.0.1:1/x", redis_url, "configured", "configured"),
        env_file=str(tmp_path / "up.env"),
        base_port=base,
        ports={name: base + i for i, name in enumerate(("rest_service", "assistant"))},
        redis_key_prefix=prefix,
        manager_pid=os.getpid(),
        pids={"rest_service": os.getpid()},
    )
    stack.save(state, tmp_path / "data" / "run")
    return state


def test_status_and_dlq_act_on_the_stack_up_runs_and_stop_will_not_split_it(
    tmp_path: Path,
    folder: list[str],
    redis_url: str,
    names: Names,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = free_base_port()
    recorded_up(tmp_path, redis_url, names.prefix, base)
    client = syncredis.Redis.from_url(redis_url)
    client.xadd(names.dead(TO_TELEGRAM), {"data": "{}", "error": "TelegramError: 502"})

    code, out, err = run([*folder, "status"], capsys)
    assert code == 0
    assert err.startswith(f"manage.py: stack of `up` (pid {os.getpid()}), env file {tmp_path}")
    # The recorded ports, not the default ones; a service whose pid lives but whose port
    # does not answer is running and unhealthy.
    assert f"rest_service              running   {os.getpid():<9}{base:<7}unhealthy" in out
    assert f"assistant                 stopped   -        {base + 1:<7}-" in out
    assert "tg_bot" not in out  # not in the record

    code, out, _ = run([*folder, "dlq", "list"], capsys)  # no REDIS_URL: the stack's Redis
    assert code == 0 and "TelegramError: 502" in out and out.endswith("1 dead letter(s)\n")

    code, _, err = run([*folder, "stop", "--service", "assistant"], capsys)
    assert code == 1
    assert f"these services belong to `up` (pid {os.getpid()})" in err
    assert stack.load(tmp_path / "data" / "run") is not None
    client.delete(names.dead(TO_TELEGRAM))
    client.close()


def test_stop_forgets_the_record_of_a_stack_that_is_no_longer_running(
    tmp_path: Path, folder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    state = recorded_up(tmp_path, "redis://127.0.0.1:1/0", "", free_base_port())
    state.mode, state.manager_pid, state.pids = "start", None, {}
    stack.save(state, tmp_path / "data" / "run")
    code, out, err = run([*folder, "status"], capsys)
    assert code == 0 and "stack of" not in err and "rest_service              stopped" in out
    assert run([*folder, "stop", "--service", "rest_service"], capsys)[0] == 0
    assert stack.load(tmp_path / "data" / "run") is not None  # one service: the record stays
    assert run([*folder, "stop"], capsys)[0] == 0
    assert stack.load(tmp_path / "data" / "run") is None
    # An `up` that died without cleaning up (its pid gone): its record is forgotten too.
    state.mode, state.manager_pid = "up", 999_999_999
    stack.save(state, tmp_path / "data" / "run")
    assert run([*folder, "stop"], capsys)[0] == 0
    assert stack.load(tmp_path / "data" / "run") is None


def test_start_is_refused_while_up_runs_the_data_folders_stack(
    tmp_path: Path, folder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    recorded_up(tmp_path, "redis://127.0.0.1:1/0", "", free_base_port())
    code, _, err = run([*folder, "start"], capsys)
    assert code == 1
    assert (
        f"manage.py: error: a stack from {tmp_path / 'data'} is running already "
        f"(`up` (pid {os.getpid()})); ./manage.py stop it first, or use another --data-dir"
    ) in err


def test_embedded_servers_a_stopped_stack_left_running_are_reused_and_dead_ones_found_anew(
    tmp_path: Path,
    folder: list[str],
    database_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ops.cli import Context, resolve_infra

    ctx = Context(tmp_path / "data", tmp_path / "none.env", None)
    saved = Infra(database_url, redis_url, "embedded", "embedded")
    state = recorded_up(tmp_path, redis_url, "", free_base_port())
    state.infra, state.mode, state.manager_pid = saved, "start", None
    stack.save(state, ctx.run_dir)
    assert resolve_infra(ctx, embedded=False) == saved  # both still answer: used as they are
    assert capsys.readouterr().err == ""

    monkeypatch.setenv("ASYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    state.infra = Infra(database_url, "redis://127.0.0.1:1/0", "embedded", "embedded")
    stack.save(state, ctx.run_dir)  # its Redis is gone: the configured servers instead
    found = resolve_infra(ctx, embedded=False)
    assert (found.redis_url, found.redis_origin) == (redis_url, "configured")
    assert "Redis: configured" in capsys.readouterr().err

    state.infra = Infra(database_url, redis_url, "configured", "local")
    stack.save(state, ctx.run_dir)  # servers found, not started: always looked for again
    assert resolve_infra(ctx, embedded=False).redis_origin == "configured"


def test_a_database_at_a_revision_the_code_does_not_know_is_refused(empty_database: str) -> None:
    from ops.cli import SchemaBehind, require_head

    conn = psycopg2.connect(admin_dsn(empty_database))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        cur.execute("INSERT INTO alembic_version VALUES ('f00dfacef00d')")
    conn.close()
    with pytest.raises(SchemaBehind, match=r"at revision f00dfacef00d, which this code does not "
                       r"know \(its head is \w+\); run the newer code"):  # fmt: skip
        require_head({"ASYNC_DATABASE_URL": empty_database})


def test_chat_with_rest_service_down_is_one_line_naming_it(
    folder: list[str],
    redis_url: str,
    names: Names,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ops.infra import free_port

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_KEY_PREFIX", names.prefix)
    monkeypatch.setenv("SERVICE_API_TOKEN", "t" * 40)
    monkeypatch.setenv("REST_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = run([*folder, "chat", "-m", "hi", "--timeout", "5"], capsys)
    assert code == 1 and err.startswith("manage.py: error: rest_service does not answer: ")
    assert len(err.splitlines()) == 1
    # A base port given wins over REST_SERVICE_URL: rest_service is looked for there.
    base = free_base_port()
    code, _, err = run([*folder, "--base-port", str(base), "chat", "-m", "hi"], capsys)
    assert code == 1 and err.startswith("manage.py: error: rest_service does not answer: ")
    assert str(base) in err, err


@pytest.mark.e2e  # the commands run rest_service's scripts as processes
def test_admin_and_rotate_key_run_rest_services_scripts_on_the_configured_database(
    folder: list[str],
    service_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    assert main([*folder, "admin", "list"]) == 0
    out = capfd.readouterr().out
    assert re.search(r"^\d+ admin\(s\)$", out, re.MULTILINE), out

    monkeypatch.setenv("LLM_MODEL_DECRYPT_KEY", "not-a-fernet-key")
    assert main([*folder, "rotate-key"]) == 1
    err = capfd.readouterr().err
    assert "rotate-key: LLM_MODEL_DECRYPT_KEY is not set or not Fernet keys" in err
    assert "manage.py: error: `python -m rest_service.rotate_key` failed with exit code 2" in err


@pytest.mark.e2e  # the command runs rest_service's script as a process
def test_rotate_key_with_the_keys_configured_re_encrypts_and_succeeds(
    folder: list[str],
    service_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)

    assert main([*folder, "rotate-key"]) == 0

    captured = capfd.readouterr()
    assert "provider keys: " in captured.out and "error" not in captured.err


def test_a_command_on_a_running_stack_whose_postgres_is_gone_is_one_line_naming_it(
    tmp_path: Path, folder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`admin`, `seed` and `rotate-key` use the servers of the stack `up` runs; its Postgres
    no longer answering is one line, not a psycopg2 traceback."""
    recorded_up(tmp_path, "redis://127.0.0.1:1/0", "", free_base_port())  # Postgres on port 1
    for argv in (["admin", "list"], ["seed"]):
        code, out, err = run([*folder, *argv], capsys)
        assert code == 1, argv
        [line] = err.strip().splitlines()
        assert line.startswith("manage.py: error: Postgres does not answer: "), line
        assert "127.0.0.1" in line and out == ""
