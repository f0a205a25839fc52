"""`.env.example` lists every setting a service reads (set, or commented out with its
default), so an operator can see what the services will take from the environment."""

from __future__ import annotations

import re

import pytest
from pydantic_settings import BaseSettings

from assistant.src.settings import Settings as AssistantSettings
from channels.src.settings import Settings as ChannelsSettings
from cron_service.app.settings import Settings as CronSettings
from google_calendar_service.src.settings import Settings as CalendarSettings
from ops.services import ROOT
from rest_service.app.settings import Settings as RestSettings
from tg_bot.src.settings import Settings as TgSettings

pytestmark = pytest.mark.policy

SERVICES: list[type[BaseSettings]] = [
    AssistantSettings,
    CalendarSettings,
    CronSettings,
    RestSettings,
    TgSettings,
    ChannelsSettings,
]


def listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, re.M))


@pytest.mark.parametrize("settings", SERVICES, ids=lambda s: s.__module__.split(".")[0])
def test_every_setting_a_service_reads_is_in_the_example(settings: type[BaseSettings]) -> None:
    missing = sorted(name.upper() for name in settings.model_fields if name.upper() not in listed())
    assert missing == []


def test_the_example_names_the_redis_topologies_and_the_trusted_proxies() -> None:
    assert {"REDIS_SENTINELS", "REDIS_CLUSTER", "FORWARDED_ALLOW_IPS"} <= listed()


def _configuration_table() -> list[str]:
    """The variables in the first column of README's "Configuration" table, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for row in re.findall(r"^\| ([^|]+) \|", section, re.M):
        names += re.findall(r"`([A-Z][A-Z0-9_]*)`", row)
    return names


def _every_setting() -> set[str]:
    return {name.upper() for settings in SERVICES for name in settings.model_fields}


def test_the_readme_table_names_every_setting_once() -> None:
    names = _configuration_table()
    twice = sorted({name for name in names if names.count(name) > 1})
    assert twice == []
    assert sorted(_every_setting() - set(names)) == [], "settings the README does not explain"
    assert sorted(set(names) - _every_setting()) == [], "README rows no service reads"


def test_the_example_names_every_setting_once() -> None:
    text = (ROOT / ".env.example").read_text()
    names = re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, re.M)
    assert sorted({name for name in names if names.count(name) > 1}) == []
