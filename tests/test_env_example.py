"""`.env.example` lists every setting a service reads (set, or commented out with its
default), so an operator can see what the services will take from the environment."""

from __future__ import annotations

import re

import pytest
from pydantic_settings import BaseSettings

from assistant.src.settings import Settings as AssistantSettings
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
