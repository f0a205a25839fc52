"""What a fire says to the user: in the language of the reminder's own words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from common.catalogue import Catalogue
from common.language import choose_language, detect_language

CATALOGUE = Catalogue(
    {
        "en": {
            "reminder": "⏰ {text}",
            "briefing": (
                "Scheduled briefing the user set up: {text}\n"
                "Answer with fresh data from your tools, in one short message."
            ),
            "late": "⏰ (late) {text}\n(it was due at {due})",
            "missed_reminder": "Missed reminder (due {due}): {text}",
            "missed_prompt": "Missed scheduled request (due {due}): {text}",
        },
        "ru": {
            "reminder": "⏰ {text}",
            "briefing": (
                "Сводка по расписанию, которую настроил пользователь: {text}\n"
                "Ответь по свежим данным из инструментов, одним коротким сообщением."
            ),
            "late": "⏰ (с опозданием) {text}\n(должно было прийти в {due})",
            "missed_reminder": "Пропущенное напоминание (на {due}): {text}",
            "missed_prompt": "Пропущенный запрос по расписанию (на {due}): {text}",
        },
        "uk": {
            "reminder": "⏰ {text}",
            "briefing": (
                "Зведення за розкладом, яке налаштував користувач: {text}\n"
                "Відповідай за свіжими даними з інструментів, одним коротким повідомленням."
            ),
            "late": "⏰ (із запізненням) {text}\n(мало прийти о {due})",
            "missed_reminder": "Пропущене нагадування (на {due}): {text}",
            "missed_prompt": "Пропущений запит за розкладом (на {due}): {text}",
        },
        "de": {
            "reminder": "⏰ {text}",
            "briefing": (
                "Geplantes Briefing, vom Nutzer eingerichtet: {text}\n"
                "Antworte mit frischen Daten aus deinen Werkzeugen, in einer kurzen Nachricht."
            ),
            "late": "⏰ (verspätet) {text}\n(fällig war es um {due})",
            "missed_reminder": "Verpasste Erinnerung (fällig {due}): {text}",
            "missed_prompt": "Verpasste geplante Anfrage (fällig {due}): {text}",
        },
    }
)


def local_time(instant: datetime, tz: ZoneInfo, now: datetime) -> str:
    """`09:00` today, `24.11 09:00` another day, in the job's timezone."""
    local = instant.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


def language(text: str) -> str | None:
    """A fire knows nothing of its user but the reminder's words: they choose the language."""
    return choose_language(written=detect_language(text))


def render(key: str, text: str, due: str) -> str:
    return CATALOGUE.text(language(text), key, text=text, due=due)
