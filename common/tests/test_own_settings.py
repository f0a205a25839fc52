"""Settings a service alone reads (`<SERVICE>__<SETTING>`): how services sharing one process
each get their own port and level from one environment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.settings import ServiceSettings, own_name, own_values
from tests.tiers import examples


class TgBotSettings(ServiceSettings):
    service_name = "tg_bot"


def test_a_service_takes_its_own_value_over_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv(own_name("tg_bot", "http_port"), "9004")
    monkeypatch.setenv("ASSISTANT__LOG_LEVEL", "DEBUG")
    bot = TgBotSettings(_env_file=None, environment="test")
    assert (bot.port, bot.log_level) == (9004, "WARNING")
    assert ServiceSettings(_env_file=None, environment="test").port == 9000
    assert TgBotSettings(_env_file=None, environment="test", http_port=1).port == 1


@settings(max_examples=examples(200))
@given(st.dictionaries(st.text(min_size=1, max_size=30), st.text(max_size=10), max_size=8))
def test_only_the_services_own_variables_are_its_own(environ: dict[str, str]) -> None:
    own = own_values("tg_bot", environ)
    assert own_values("", environ) == {}
    assert own == {
        key[len("TG_BOT__") :].lower(): value
        for key, value in environ.items()
        if key.upper().startswith("TG_BOT__") and len(key) > len("TG_BOT__")
    }
