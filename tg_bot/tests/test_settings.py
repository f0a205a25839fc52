"""TELEGRAM_WEBHOOK_SECRET: a short secret is refused at start with one clear line, whatever
the environment; empty means one is generated (tests/workers/test_webhook.py)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.infrastructure.settings import load_settings
from tg_bot.src.settings import Settings

ALLOWED = string.ascii_letters + string.digits + "_-"
SECRETS = st.one_of(
    st.text(alphabet=ALLOWED, max_size=300),
    st.text(alphabet=ALLOWED, min_size=30, max_size=34),
    st.text(max_size=40),
)


def _accepted(secret: str) -> bool:
    try:
        Settings(environment="test", telegram_webhook_secret=secret, _env_file=None)
    except ValidationError as exc:
        assert "TELEGRAM_WEBHOOK_SECRET" in str(exc).upper()
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(SECRETS)
def test_a_webhook_secret_is_empty_or_32_to_256_of_the_bot_apis_characters(secret: str) -> None:
    expected = secret == "" or (32 <= len(secret) <= 256 and set(secret) <= set(ALLOWED))
    assert _accepted(secret) == expected


def test_a_one_letter_secret_stops_the_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a")
    monkeypatch.setenv("SMART_ASSISTANT_ENV_FILE", "")
    with pytest.raises(SystemExit) as stopped:
        load_settings(Settings)
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("invalid settings: TELEGRAM_WEBHOOK_SECRET: 32-256 characters"), line


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TELEGRAM_WEBHOOK_PATH", "telegram/webhook", "TELEGRAM_WEBHOOK_PATH: must start with /"),
        ("ALLOWED_TELEGRAM_IDS", "12345, anna", "ALLOWED_TELEGRAM_IDS: not a Telegram user id"),
        ("ALLOWED_GROUPS", "-100123, team", "ALLOWED_GROUPS: not a Telegram chat id"),
    ],
)
def test_a_webhook_path_without_its_slash_or_a_name_among_the_ids_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    said: str,
) -> None:
    """Both would fail later and quietly: a webhook nobody can reach, an allow-list that
    lets the wrong people in or no one at all."""
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMART_ASSISTANT_ENV_FILE", "")
    with pytest.raises(SystemExit) as stopped:
        load_settings(Settings)
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"invalid settings: {said}"), line


def test_ids_may_be_separated_by_semicolons_and_be_negative() -> None:
    allowed = "12345; -1001234, 67"
    settings = Settings(
        environment="test", allowed_telegram_ids=allowed, allowed_groups=allowed, _env_file=None
    )
    assert settings.allowed_telegram_ids == allowed
    assert settings.allowed_group_ids == {12345, -1001234, 67}
