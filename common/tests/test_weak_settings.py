"""Weak configuration is refused at start outside tests: short tokens,
one token doing two jobs, a short admin password; one clear line each, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.infrastructure import service_tokens
from common.infrastructure.crypto import generate_key
from common.infrastructure.settings import TOKEN_SETTINGS, ServiceSettings, settings_problems
from ops.services import ROOT
from rest_service.app.settings import Settings as RestSettings

# Any: settings take text, as the environment gives it, and convert it
STRONG: dict[str, Any] = {name: f"{name}-" + "x" * 32 for name in TOKEN_SETTINGS}
KEY = generate_key()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in (*map(str.upper, TOKEN_SETTINGS), "ENVIRONMENT", "ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LLM_MODEL_DECRYPT_KEY", raising=False)


def _problems(**values: str) -> list[str]:
    try:
        RestSettings(**{**STRONG, "llm_model_decrypt_key": KEY, **values})
    except ValidationError as exc:
        return settings_problems(exc)
    return []


def test_strong_distinct_tokens_and_a_long_password_start() -> None:
    assert _problems(admin_password="correct horse battery") == []


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"admin_api_token": "a"}, "ADMIN_API_TOKEN is shorter than 32 characters"),
        ({"service_api_token": "s" * 31}, "SERVICE_API_TOKEN is shorter than 32 characters"),
        ({"service_token_tg_bot": "t"}, "SERVICE_TOKEN_TG_BOT is shorter than 32 characters"),
        (
            {"service_api_token": STRONG["admin_api_token"]},
            "ADMIN_API_TOKEN and SERVICE_API_TOKEN are the same token",
        ),
        (
            {"service_token_assistant": STRONG["admin_api_token"]},
            "ADMIN_API_TOKEN and SERVICE_TOKEN_ASSISTANT are the same token",
        ),
        (
            {"service_token_cron_service": STRONG["service_token_tg_bot"]},
            "SERVICE_TOKEN_TG_BOT and SERVICE_TOKEN_CRON_SERVICE are the same token",
        ),
        ({"admin_password": "1"}, "ADMIN_PASSWORD is shorter than 12 characters"),
    ],
)
def test_each_weakness_is_refused_with_one_line(values: dict[str, str], line: str) -> None:
    [problem] = _problems(**values)
    assert problem.startswith(line), problem


def test_the_issues_example_names_every_weakness_on_its_own_line() -> None:
    problems = _problems(admin_api_token="a", service_api_token="a", admin_password="1")
    assert len(problems) == 4, problems
    assert not [p for p in problems if "a" * 3 in p]  # the values are never printed


def test_tests_may_run_with_weak_tokens() -> None:
    assert RestSettings(environment="test", admin_api_token="a", service_api_token="a")


def test_a_service_sends_its_scoped_token_when_it_has_one() -> None:
    class TgBot(ServiceSettings):
        service_name = "tg_bot"

    scoped = TgBot(service_api_token=STRONG["service_api_token"], **_only("tg_bot"))
    assert scoped.own_service_token == STRONG["service_token_tg_bot"]
    shared = TgBot(service_api_token=STRONG["service_api_token"])
    assert shared.own_service_token == STRONG["service_api_token"]
    alone = TgBot(**_only("tg_bot"))  # the scoped token alone satisfies SERVICE_API_TOKEN
    assert alone.own_service_token == STRONG["service_token_tg_bot"]


def _only(service: str) -> dict[str, Any]:
    name = service_tokens.setting_name(service)
    return {name: STRONG[name]}


_TOKENS = st.text(alphabet="abcXYZ019-_", min_size=0, max_size=40)


@settings(max_examples=60, deadline=None)
@given(values=st.fixed_dictionaries({name: _TOKENS for name in TOKEN_SETTINGS}))
def test_any_tokens_start_only_when_each_set_one_is_long_and_its_own(
    values: dict[str, str],
) -> None:
    """The rule, restated over any tokens: set ones are 32+ characters and all differ."""
    if not values["admin_api_token"] or not any(values[n] for n in TOKEN_SETTINGS[1:]):
        return  # missing secrets have their own message
    given = [v for v in values.values() if v]
    strong = all(len(v) >= 32 for v in given) and len(set(given)) == len(given)
    assert (_problems(**values) == []) == strong


SERVICES = {
    "rest_service": {"ADMIN_API_TOKEN": "a", "SERVICE_API_TOKEN": "a", "ADMIN_PASSWORD": "1"},
    "assistant": {"SERVICE_API_TOKEN": "short"},
    "tg_bot": {"SERVICE_API_TOKEN": "short", "TELEGRAM_TOKEN": "123:abc"},
    "google_calendar_service": {"SERVICE_TOKEN_GOOGLE_CALENDAR_SERVICE": "short"},
    "cron_service": {"SERVICE_API_TOKEN": "s" * 40, "SERVICE_TOKEN_CRON_SERVICE": "s" * 40},
    "channels": {"SERVICE_TOKEN_CHANNELS": "short"},
}


@pytest.mark.e2e  # starts processes in its body
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_python_m_service_with_weak_tokens_exits_2_naming_each(
    service: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SECRET_ENV}
    env |= {
        "ENVIRONMENT": "development",
        "LLM_MODEL_DECRYPT_KEY": KEY,
        "HTTP_PORT": "1",  # never reached: the settings stop it first
        "PYTHONPATH": str(ROOT),
        **SERVICES[service],
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", service],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{service} started with weak tokens")
    lines = [line for line in done.stderr.splitlines() if line.startswith("invalid settings")]
    assert done.returncode == 2, done.stderr[-2000:]
    assert lines and all("shorter than" in line or "same token" in line for line in lines)
    if service == "rest_service":
        assert len(lines) == 4, lines


_SECRET_ENV = {*map(str.upper, TOKEN_SETTINGS), "ADMIN_PASSWORD", "ENVIRONMENT"}
