"""What a fire says to the user: in the language of the reminder's own words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from common.features.language import choose_language, detect_language
from common.features.texts import TEXTS

#: The catalogue's `fire.*`.
CATALOGUE = TEXTS.section("fire")


def local_time(instant: datetime, tz: ZoneInfo, now: datetime) -> str:
    """`09:00` today, `24.11 09:00` another day, in the job's timezone."""
    local = instant.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


def language(text: str) -> str | None:
    """A fire knows nothing of its user but the reminder's words: they choose the language."""
    return choose_language(written=detect_language(text))


def render(key: str, text: str, due: str, **values: object) -> str:
    return CATALOGUE.text(language(text), key, text=text, due=due, **values)
