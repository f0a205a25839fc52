"""Settings a service alone reads (`<SERVICE>__<SETTING>`): how services sharing one process
each get their own port and level from one environment."""

from __future__ import annotations

import os
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.settings import ServiceSettings, own_name, own_values
from ops.services import NAMES
from tests.environment_text import CHARACTERS
from tests.tiers import examples


def settings_class(service: str) -> type[ServiceSettings]:
    return type(f"{service}Settings", (ServiceSettings,), {"service_name": service})


#: A settings class per service, each reading the settings every service reads.
CLASSES = {name: settings_class(name) for name in NAMES}
#: Free-text settings every service has, to give values of any shape.
TEXT_SETTINGS = ("http_host", "redis_key_prefix", "default_timezone", "forwarded_allow_ips")


def test_a_service_takes_its_own_value_over_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv(own_name("tg_bot", "http_port"), "9004")
    monkeypatch.setenv("ASSISTANT__LOG_LEVEL", "DEBUG")
    bot = CLASSES["tg_bot"](_env_file=None, environment="test")
    assert (bot.port, bot.log_level) == (9004, "WARNING")
    assert ServiceSettings(_env_file=None, environment="test").port == 9000
    assert CLASSES["tg_bot"](_env_file=None, environment="test", http_port=1).port == 1


def test_a_service_reads_its_own_value_from_the_env_file_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service run by hand reads `.env` itself: `TG_BOT__LOG_LEVEL=DEBUG` there is its own
    as it is in the environment, which still wins over the file."""
    for name in ("LOG_LEVEL", "TG_BOT__LOG_LEVEL", "TG_BOT__HTTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=ERROR\nTG_BOT__LOG_LEVEL=DEBUG\nTG_BOT__HTTP_HOST=file\n")
    monkeypatch.setenv("TG_BOT__HTTP_HOST", "environment")
    bot = CLASSES["tg_bot"](_env_file=env_file, environment="test")
    assert (bot.log_level, bot.http_host) == ("DEBUG", "environment")
    assert CLASSES["assistant"](_env_file=env_file, environment="test").log_level == "ERROR"
    monkeypatch.delenv("SMART_ASSISTANT_ENV_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no `_env_file`: the `.env` of the working directory
    assert CLASSES["tg_bot"](environment="test").log_level == "DEBUG"
    missing = CLASSES["tg_bot"](_env_file=tmp_path / "none", environment="test")
    assert missing.log_level == "INFO"


#: Per service, its own value of some text settings.
owns = st.dictionaries(
    st.sampled_from(NAMES),
    st.dictionaries(
        st.sampled_from(TEXT_SETTINGS),
        st.text(CHARACTERS, max_size=12),
        min_size=1,
    ),
    max_size=4,
)
shared = st.dictionaries(
    st.sampled_from(TEXT_SETTINGS),
    st.text(CHARACTERS, max_size=12),
)


def spelled(name: str, upper: bool) -> str:
    return name.upper() if upper else name.lower()


@settings(max_examples=examples(60), deadline=None)
@given(owns, shared, st.booleans())
def test_an_own_value_is_that_services_alone(
    own: dict[str, dict[str, str]], common: dict[str, str], upper: bool
) -> None:
    """Each service sees its own value where it has one, else the shared one, else the
    default; no service's own value reaches another, in any spelling of the name."""
    environ = {spelled(key, upper): value for key, value in common.items()}
    for service, values in own.items():
        environ |= {spelled(own_name(service, key), upper): v for key, v in values.items()}
    with patch.dict(os.environ, environ):
        for service, cls in CLASSES.items():
            got = cls(_env_file=None, environment="test")
            for key in TEXT_SETTINGS:
                expected = own.get(service, {}).get(
                    key, common.get(key, cls.model_fields[key].default)
                )
                assert getattr(got, key) == expected, (service, key)


#: Names that look like a service's own but are not: no setting after the separator, one
#: underscore, the service's name inside another word, a setting no service has.
NOT_OWN = st.sampled_from(
    [
        "TG_BOT__",
        "TG_BOT_HTTP_HOST",
        "XTG_BOT__HTTP_HOST",
        "TG_BOTX__HTTP_HOST",
        "TG_BOT___HTTP_HOST",
    ]
)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(NOT_OWN, min_size=1, unique=True),
    st.text(max_size=8).filter(lambda v: "\x00" not in v),
)
def test_names_that_are_not_a_services_own_change_nothing(names: list[str], value: str) -> None:
    with patch.dict(os.environ, dict.fromkeys(names, value)):
        for cls in CLASSES.values():
            assert cls(_env_file=None, environment="test").http_host == "127.0.0.1"
    assert own_values("tg_bot", dict.fromkeys(names, value)).keys() <= {"", "_http_host"}
    assert own_values("", {"__HTTP_HOST": "x", "HTTP_HOST": "y"}) == {}
