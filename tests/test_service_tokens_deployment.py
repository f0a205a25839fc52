"""Scoped tokens as deployed: `./manage.py up`'s fresh .env passes the settings' checks and
holds a token per service; docker-compose.yml gives each worker its own token only (no
other service's, no admin token, no master key), and the shared one while .env has none."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from common.infrastructure import service_tokens
from common.infrastructure.settings import MIN_TOKEN_LENGTH, TOKEN_SETTINGS
from ops.envfile import read_env_file, write_env_file
from ops.services import ROOT
from rest_service.app.settings import Settings as RestSettings
from tests.test_containers import rendered

pytestmark = pytest.mark.policy

WORKERS = ("tg_bot", "assistant", "cron_service", "google_calendar_service", "channels")


def test_a_fresh_env_file_has_every_token_long_and_distinct_and_starts(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    write_env_file(ROOT / ".env.example", target)
    values = read_env_file(target)
    tokens = [values[name.upper()] for name in TOKEN_SETTINGS]
    assert all(len(t) >= MIN_TOKEN_LENGTH for t in tokens)
    assert len(set(tokens)) == len(tokens)
    fields: dict[str, Any] = {
        k.lower(): v for k, v in values.items() if k.lower() in RestSettings.model_fields
    }
    RestSettings(_env_file=None, **{**fields, "environment": "production"})  # type: ignore[call-arg]


def _project(tmp_path: Path, scoped: bool) -> Path:
    text = (ROOT / ".env.example").read_text()
    values = {name.upper(): f"{name}-" + "x" * 32 for name in TOKEN_SETTINGS}
    if not scoped:
        values = {k: v for k, v in values.items() if not k.startswith("SERVICE_TOKEN_")}
    values["LLM_MODEL_DECRYPT_KEY"] = "master-key-marker"
    values["POSTGRES_PASSWORD"] = "postgres-password-marker"
    for name, value in values.items():
        text = re.sub(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
    (tmp_path / ".env").write_text(text)
    return tmp_path


def _secrets(app: dict, service: str) -> dict[str, str]:
    env = app["services"][service]["environment"]
    names = [*(n.upper() for n in TOKEN_SETTINGS), "LLM_MODEL_DECRYPT_KEY"]
    return {name: env[name] for name in names if env.get(name)}


@pytest.mark.parametrize("service", WORKERS)
def test_compose_gives_a_worker_its_own_token_and_nothing_else(
    tmp_path: Path, service: str
) -> None:
    app = rendered("docker-compose.yml", _project(tmp_path, scoped=True))
    held = _secrets(app, service)
    own = service_tokens.setting_name(service) + "-" + "x" * 32
    callers = {
        service_tokens.env_name(c): service_tokens.setting_name(c) + "-" + "x" * 32
        for c in service_tokens.CALENDAR_CALLERS
    }
    expected = {"SERVICE_API_TOKEN": own}
    if service == "google_calendar_service":
        expected |= callers
    assert held == expected


def test_compose_keeps_the_shared_token_while_env_has_no_scoped_ones(tmp_path: Path) -> None:
    app = rendered("docker-compose.yml", _project(tmp_path, scoped=False))
    for service in WORKERS:
        assert _secrets(app, service) == {"SERVICE_API_TOKEN": "service_api_token-" + "x" * 32}
    rest = _secrets(app, "rest_service")
    assert set(rest) == {"ADMIN_API_TOKEN", "SERVICE_API_TOKEN", "LLM_MODEL_DECRYPT_KEY"}


def test_rest_service_knows_every_scoped_token(tmp_path: Path) -> None:
    app = rendered("docker-compose.yml", _project(tmp_path, scoped=True))
    assert set(_secrets(app, "rest_service")) == {
        *(n.upper() for n in TOKEN_SETTINGS),
        "LLM_MODEL_DECRYPT_KEY",
    }
