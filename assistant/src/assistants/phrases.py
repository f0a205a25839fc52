"""The few sentences the assistant says itself, when no model can: in the user's language."""

from __future__ import annotations

APOLOGY = {
    "en": "Sorry, I can't answer right now: my language model is unavailable. "
    "Please try again in a few minutes.",
    "ru": "Извините, сейчас не могу ответить: языковая модель недоступна. "
    "Попробуйте, пожалуйста, через несколько минут.",
    "uk": "Вибачте, зараз не можу відповісти: мовна модель недоступна. "
    "Спробуйте, будь ласка, за кілька хвилин.",
    "de": "Entschuldigung, ich kann gerade nicht antworten: mein Sprachmodell ist nicht "
    "erreichbar. Bitte versuche es in ein paar Minuten noch einmal.",
}

OUT_OF_STEPS = {
    "en": "Sorry, I couldn't finish this: it needed more steps than I may take for one "
    "message. Could you ask for something smaller or more specific?",
    "ru": "Извините, не получилось довести дело до конца: понадобилось больше шагов, чем мне "
    "разрешено на одно сообщение. Попробуйте попросить о чём-то более конкретном.",
    "uk": "Вибачте, не вдалося завершити: знадобилося більше кроків, ніж мені дозволено на "
    "одне повідомлення. Спробуйте попросити про щось конкретніше.",
    "de": "Entschuldigung, das konnte ich nicht abschließen: es hätte mehr Schritte gebraucht, "
    "als ich pro Nachricht machen darf. Magst du es kleiner oder genauer fragen?",
}

TURN_FAILED = {
    "en": "Sorry, something went wrong with this message and I couldn't answer it. "
    "Please try again, or say it differently.",
    "ru": "Извините, с этим сообщением что-то пошло не так, и я не смог на него ответить. "
    "Попробуйте, пожалуйста, ещё раз или сформулируйте иначе.",
    "uk": "Вибачте, з цим повідомленням щось пішло не так, і я не зміг на нього відповісти. "
    "Спробуйте, будь ласка, ще раз або сформулюйте інакше.",
    "de": "Entschuldigung, bei dieser Nachricht ist etwas schiefgegangen, ich konnte nicht "
    "antworten. Bitte versuche es noch einmal oder formuliere es anders.",
}

NOT_CONFIGURED = {
    "en": "Sorry, I'm not set up yet: no secretary assistant is configured.",
    "ru": "Извините, я ещё не настроен: не задан ассистент-секретарь.",
}


def say(catalogue: dict[str, str], language: str | None) -> str:
    """The sentence in `language` ("ru", "ru-RU"), else in English."""
    code = (language or "en").split("-")[0].lower()
    return catalogue.get(code, catalogue["en"])


#: `{hours}` and `{minutes}`: the time left until the budget resets (00:00 UTC).
TOKEN_BUDGET_SPENT = {
    "en": "Sorry, you've used today's allowance of my language model. It resets at 00:00 UTC, "
    "in {hours} h {minutes} min; /usage shows your figures.",
    "ru": "Извините, на сегодня ваш лимит языковой модели исчерпан. Он обновится в 00:00 UTC, "
    "через {hours} ч {minutes} мин; /usage покажет ваши цифры.",
    "uk": "Вибачте, на сьогодні ваш ліміт мовної моделі вичерпано. Він оновиться о 00:00 UTC, "
    "через {hours} год {minutes} хв; /usage покаже ваші цифри.",
    "de": "Entschuldigung, dein heutiges Kontingent für mein Sprachmodell ist aufgebraucht. Es "
    "wird um 00:00 UTC zurückgesetzt, in {hours} Std. {minutes} Min.; /usage zeigt deine Zahlen.",
}
