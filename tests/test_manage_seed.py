"""The deploy's migrate step (the Kubernetes Job, compose's `migrate`) keeps an admin's work:
its seed only adds what is missing; `seed --reset` overwrites, and only when confirmed. And
the commands that are not `upgrade`, `migrate` or `up` never change the schema: on a
database behind the code they stop with one line naming both revisions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml
from alembic.config import Config
from alembic.script import ScriptDirectory

from ops import cli
from ops.infra import ALEMBIC_INI, DatabaseServer, admin_dsn, migrate
from ops.processes import measured
from ops.services import ROOT
from tests.harness import base_env
from tests.test_demo import Terminal
from tests.test_manage import MANAGE

pytestmark = pytest.mark.e2e

JOB = ROOT / "deploy" / "kubernetes" / "base" / "migrate-job.yaml"
COMPOSE = ROOT / "docker-compose.yml"
DEFAULT_INSTRUCTIONS = "You are a personal secretary in Telegram"


def deploy_command() -> list[str]:
    """The migrate step's command, which the Job and compose share word for word."""
    job = yaml.safe_load(JOB.read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    compose = yaml.safe_load(COMPOSE.read_text())["services"]["migrate"]["command"]
    assert container["command"] == compose
    command: list[str] = compose
    return command


def image_env(service_env: dict[str, str], database_url: str, tmp_path: Path) -> dict[str, str]:
    """As in the rest_service image: `python` is the project's, no bootstrap, no .env (and,
    in a run under `--coverage`, coverage.py's configuration, so the commands are measured)."""
    return measured(
        {
            **service_env,
            "ASYNC_DATABASE_URL": database_url,
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "SMART_ASSISTANT_NO_BOOTSTRAP": "1",
            "SMART_ASSISTANT_DATA": str(tmp_path / "data"),
            "OPENAI_API_KEY": "",
        }
    )


@pytest.fixture
def run_env(service_env: dict[str, str], empty_database: str, tmp_path: Path) -> dict[str, str]:
    return image_env(service_env, empty_database, tmp_path)


@dataclass
class Database:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def deployed_template(
    postgres_server: DatabaseServer,
    database_url: str,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A database the deploy step has migrated and seeded, once for the module: the tests
    that start from there take a copy (the step itself is the first test's subject)."""
    url = postgres_server.create()
    try:
        service_env = base_env(database_url, redis_url, session_prefix, secrets)
        env = image_env(service_env, url, tmp_path_factory.mktemp("deploy"))
        deployed = run(deploy_command(), env)
        assert deployed.returncode == 0, deployed.stderr
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture
def deployed(
    postgres_server: DatabaseServer,
    deployed_template: str,
    service_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Database]:
    """A database as the deploy step left it, of this test's own."""
    url = postgres_server.create(template=deployed_template)
    try:
        yield Database(url, image_env(service_env, url, tmp_path))
    finally:
        postgres_server.drop(url)


def run(command: list[str], env: dict[str, str], **extra: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, **extra
    )


def query(database_url: str, sql: str) -> Any:
    conn = psycopg2.connect(admin_dsn(database_url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0] if cur.description else None
    finally:
        conn.close()


def instructions(database_url: str) -> str:
    text: str = query(database_url, "SELECT instructions FROM assistants WHERE name = 'secretary'")
    return text


@pytest.mark.timeout(300)
def test_the_deploy_step_keeps_an_admins_edit_and_only_a_confirmed_reset_restores_it(
    run_env: dict[str, str], empty_database: str
) -> None:
    command = deploy_command()
    first = run(command, run_env)
    assert first.returncode == 0, first.stderr
    assert "seeded the default configuration" in first.stdout
    assert instructions(empty_database).startswith(DEFAULT_INSTRUCTIONS)
    assert query(empty_database, "SELECT api_key_encrypted FROM llm_providers") is None

    # An admin's edits: the secretary's prompt, and the weather tool deleted.
    query(empty_database, "UPDATE assistants SET instructions = 'Be a pirate.'")
    query(
        empty_database,
        "DELETE FROM assistant_tool_link"
        " WHERE tool_id = (SELECT id FROM tools WHERE name = 'weather')",
    )
    query(empty_database, "DELETE FROM tools WHERE name = 'weather'")

    keyed = {**run_env, "OPENAI_API_KEY": "sk-deploy-key-1234"}
    second = run(command, keyed)
    assert second.returncode == 0, second.stderr
    assert "seed added tool weather, link secretary -> weather" in second.stdout
    assert "OPENAI_API_KEY (encrypted) into provider 'default'" in second.stdout
    stored = query(empty_database, "SELECT api_key_encrypted FROM llm_providers")
    assert stored and "sk-deploy" not in stored
    third = run(command, keyed)
    assert third.returncode == 0, third.stderr
    assert "nothing added" in third.stdout
    assert instructions(empty_database) == "Be a pirate."  # twice through the deploy step
    assert query(empty_database, "SELECT api_key_encrypted FROM llm_providers") == stored

    refused = run([*MANAGE, "seed", "--reset"], keyed, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0
    assert "~ assistant secretary: instructions differs:" in refused.stdout
    assert "-Be a pirate." in refused.stdout
    assert "add --yes" in refused.stderr
    assert instructions(empty_database) == "Be a pirate."

    reset = run([*MANAGE, "seed", "--reset", "--yes"], keyed, stdin=subprocess.DEVNULL)
    assert reset.returncode == 0, reset.stderr
    assert "defaults restored" in reset.stdout
    assert instructions(empty_database).startswith(DEFAULT_INSTRUCTIONS)


@pytest.mark.timeout(180)
def test_at_a_terminal_reset_asks_and_only_a_yes_overwrites(deployed: Database) -> None:
    query(deployed.url, "UPDATE assistants SET instructions = 'Be a pirate.'")
    for answer, restored in (("n", False), ("y", True)):
        terminal = Terminal([*MANAGE, "seed", "--reset"], deployed.env)
        try:
            terminal.expect(r"instructions differs:[\s\S]*\[y/N\] ", timeout=60)
            terminal.type(f"{answer}\n")
            assert terminal.proc.wait(60) == (0 if restored else 1)
        finally:
            terminal.close()
        now = instructions(deployed.url)
        assert now.startswith(DEFAULT_INSTRUCTIONS) if restored else now == "Be a pirate."


def before_head() -> tuple[str, str]:
    """The revision before head, and head."""
    (head,) = cli.script_heads()
    previous = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_revision(head)
    assert previous is not None and isinstance(previous.down_revision, str)
    return previous.down_revision, head


@pytest.fixture(scope="module")
def behind_template(postgres_server: DatabaseServer) -> Iterator[str]:
    """A database migrated to the revision before head, once for the module."""
    url = postgres_server.create()
    try:
        migrate(url, "upgrade", before_head()[0])
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture
def behind(
    postgres_server: DatabaseServer,
    behind_template: str,
    service_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Database]:
    """A database of this test's own at the revision before head."""
    url = postgres_server.create(template=behind_template)
    try:
        yield Database(url, image_env(service_env, url, tmp_path))
    finally:
        postgres_server.drop(url)


def revision(database_url: str) -> str:
    found: str = query(database_url, "SELECT version_num FROM alembic_version")
    return found


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "args",
    [["admin", "list"], ["seed"], ["seed", "--reset", "--yes"], ["rotate-key"]],
    ids=lambda a: " ".join(a),
)
def test_a_command_on_a_database_behind_the_code_names_both_revisions_and_changes_nothing(
    args: list[str],
    behind: Database,
    run_in_process: InProcess,
) -> None:
    old, head = before_head()
    code, err = run_in_process(behind.env, args)
    assert code == 1
    [line] = [line for line in err.splitlines() if "error" in line]
    assert old in line and head in line and "./manage.py upgrade" in line
    assert revision(behind.url) == old


@pytest.mark.timeout(120)
def test_upgrade_is_the_command_that_migrates(behind: Database, run_in_process: InProcess) -> None:
    code, err = run_in_process(behind.env, ["upgrade"])
    assert code == 0, err
    assert revision(behind.url) == before_head()[1]


def test_yes_without_reset_is_refused(run_env: dict[str, str], run_in_process: InProcess) -> None:
    code, err = run_in_process(run_env, ["seed", "--yes"])
    assert code == 1 and "--yes confirms --reset" in err


#: `manage.py ARGS` under ENV in this process: its exit code and stderr.
InProcess = Callable[[dict[str, str], list[str]], tuple[int, str]]


@pytest.fixture
def run_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> InProcess:
    """`manage.py ARGS` in this process (a refusal comes before any child), with its stderr."""

    def call(env: dict[str, str], args: list[str]) -> tuple[int, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capfd.readouterr()
        code = cli.main(["--data-dir", str(tmp_path / "data"), "--env-file", "/dev/null", *args])
        return code, capfd.readouterr().err

    return call


@pytest.mark.timeout(180)
def test_a_start_on_a_configured_database_behind_the_code_migrates_it_and_imports_nothing(
    deployed: Database, capfd: pytest.CaptureFixture[str]
) -> None:
    """`up` or `start` after a code update: the schema is brought to head, and the admin's
    configuration is kept as it is (the defaults are imported into an empty one only)."""
    query(deployed.url, "UPDATE assistants SET instructions = 'Be a pirate.'")
    (head,) = cli.script_heads()
    migrate(deployed.url, "downgrade", "-1")
    assert revision(deployed.url) != head
    capfd.readouterr()

    cli.prepare_database(deployed.env, seed_if_empty=True)

    err = capfd.readouterr().err
    assert "database migrated to head" in err
    assert "default configuration imported" not in err
    assert revision(deployed.url) == head
    assert instructions(deployed.url) == "Be a pirate."


@pytest.mark.timeout(180)
def test_a_reset_preview_adds_a_renamed_default_provider_and_claims_no_key_swap(
    deployed: Database,
) -> None:
    """The admin renamed the provider `default`: the reset would add `default` again (with
    the key), and says so; it does not claim to replace a key in a row that is not there."""
    query(deployed.url, "UPDATE llm_providers SET name = 'team-llm' WHERE name = 'default'")
    keyed = {**deployed.env, "OPENAI_API_KEY": "sk-deploy-key-1234"}

    refused = run([*MANAGE, "seed", "--reset"], keyed, stdin=subprocess.DEVNULL)

    assert refused.returncode != 0 and "add --yes" in refused.stderr
    assert "+ provider default" in refused.stdout
    assert "api_key replaced" not in refused.stdout
    assert "sk-deploy" not in refused.stdout + refused.stderr
    assert query(deployed.url, "SELECT count(*) FROM llm_providers WHERE name = 'default'") == 0
