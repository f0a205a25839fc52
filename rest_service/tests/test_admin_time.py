"""The admin's times: shown in ADMIN_TIMEZONE with the zone's abbreviation or offset, to
the second, across a DST change, in the tables, detail pages and the history; an unknown
zone refused at start in one line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from common.infrastructure.settings import settings_problems
from rest_service.app.admin.display_names import AdminClock, when
from rest_service.app.settings import Settings
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import login

BERLIN = ZoneInfo("Europe/Berlin")


def test_times_follow_the_zone_across_the_dst_change() -> None:
    # Europe/Berlin leaves CET for CEST at 01:00 UTC on 2026-03-29.
    before = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
    after = before + timedelta(seconds=1)
    assert when(before, BERLIN) == "2026-03-29 01:59:59 CET"
    assert when(after, BERLIN) == "2026-03-29 03:00:00 CEST"
    # ... and back at 01:00 UTC on 2026-10-25: the repeated hour is told apart by the zone.
    assert when(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), BERLIN) == "2026-10-25 02:30:00 CEST"
    assert when(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), BERLIN) == "2026-10-25 02:30:00 CET"


def test_naive_times_are_utc_and_other_offsets_are_converted() -> None:
    assert when(datetime(2026, 7, 1, 12, 0, 0, 999999)) == "2026-07-01 12:00:00 UTC"
    assert when(datetime(2026, 7, 1, 12, 0), BERLIN) == "2026-07-01 14:00:00 CEST"
    three_behind = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert when(three_behind, BERLIN) == "2026-07-01 14:00:00 CEST"
    assert when(None, BERLIN) == ""
    # A zone without an abbreviation shows its offset.
    assert when(three_behind, ZoneInfo("America/Sao_Paulo")) == "2026-07-01 09:00:00 -03"


def test_the_clock_shows_its_zone_and_starts_in_utc() -> None:
    clock = AdminClock()
    moment = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert clock.when(moment) == "2026-01-15 08:00:00 UTC"
    clock.zone = BERLIN
    assert clock.when(moment) == "2026-01-15 09:00:00 CET"


def test_admin_timezone_setting(settings_env: dict[str, str]) -> None:
    assert Settings(_env_file=None).admin_timezone == "UTC"
    chosen = Settings(_env_file=None, admin_timezone="Europe/Berlin")
    assert chosen.admin_timezone == "Europe/Berlin"
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd"):
        with pytest.raises(ValidationError) as refused:
            Settings(_env_file=None, admin_timezone=bad)
        assert settings_problems(refused.value) == [
            f"ADMIN_TIMEZONE: unknown time zone {bad!r} (an IANA name such as Europe/Berlin,"
            " or UTC)"
        ]


@pytest.fixture
def berlin(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """ADMIN_TIMEZONE for the app (first in the test's fixtures: before the app starts)."""
    monkeypatch.setenv("ADMIN_TIMEZONE", "Europe/Berlin")


async def test_the_admin_shows_times_in_admin_timezone(
    berlin: None, client: httpx.AsyncClient, api: Api, secrets: dict[str, str]
) -> None:
    await login(client, secrets["ADMIN_API_TOKEN"])
    assistant = await api.assistant()
    updated = datetime.fromisoformat(assistant["updated_at"])
    shown = when(updated if updated.tzinfo else updated.replace(tzinfo=UTC), BERLIN)
    assert shown.endswith((" CET", " CEST"))
    listing = (await client.get("/admin/assistant/list")).text
    assert shown in listing
    details = (await client.get(f"/admin/assistant/details/{assistant['id']}")).text
    assert shown in details
    history = (await client.get("/admin/history")).text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T<", history)


async def test_an_admin_built_before_a_lifespan_shows_that_lifespans_zone(
    berlin: None, shared_app: FastAPI
) -> None:
    """The shared app's admin is built by whichever test opens it first; each later test's
    lifespan still sets its ADMIN_TIMEZONE."""
    shared_app.state.lazy_admin.build()
    async with shared_app.router.lifespan_context(shared_app):
        assert shared_app.state.admin_clock.zone == BERLIN
