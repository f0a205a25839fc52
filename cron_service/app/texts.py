"""What a fire says to the user, in English or Russian (a reminder's own words decide)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

_TEXTS = {
    "en": {
        "reminder": "⏰ {text}",
        "late": "⏰ (late) {text}\n(it was due at {due})",
        "missed_reminder": "Missed reminder (due {due}): {text}",
        "missed_prompt": "Missed scheduled request (due {due}): {text}",
    },
    "ru": {
        "reminder": "⏰ {text}",
        "late": "⏰ (с опозданием) {text}\n(должно было прийти в {due})",
        "missed_reminder": "Пропущенное напоминание (на {due}): {text}",
        "missed_prompt": "Пропущенный запрос по расписанию (на {due}): {text}",
    },
}


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


def local_time(instant: datetime, tz: ZoneInfo, now: datetime) -> str:
    """`09:00` today, `24.11 09:00` another day, in the job's timezone."""
    local = instant.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


def render(key: str, text: str, due: str) -> str:
    return _TEXTS[language_of(text)][key].format(text=text, due=due)
