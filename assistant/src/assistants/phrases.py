"""The few sentences the assistant says itself, when no model can: in the turn's language
(`language.py`).

`token_budget_spent`: `{hours}` and `{minutes}` are the time left until the budget resets
(00:00 UTC). `status.*`: the line a live answer shows while a tool of that type runs.
"""

from __future__ import annotations

from common.catalogue import Catalogue

CATALOGUE = Catalogue(
    {
        "en": {
            "apology": "Sorry, I can't answer right now: my language model is unavailable. "
            "Please try again in a few minutes.",
            "out_of_steps": "Sorry, I couldn't finish this: it needed more steps than I may "
            "take for one message. Could you ask for something smaller or more specific?",
            "turn_failed": "Sorry, something went wrong with this message and I couldn't "
            "answer it. Please try again, or say it differently.",
            "not_configured": "Sorry, I'm not set up yet: no secretary assistant is configured.",
            "edited": "_(answering your edited message)_",
            "token_budget_spent": "Sorry, you've used today's allowance of my language model. "
            "It resets at 00:00 UTC, in {hours} h {minutes} min; /usage shows your figures.",
            "held": "❓ Waiting for your Yes: {what}",
            "confirmed_done": "✅ Done: {what}",
            "confirmed_failed": "Sorry, that could not be done: {error}",
            "confirmed_gone": "This question was answered already or has expired: nothing "
            "was done.",
            "status.calendar": "checking your calendar…",
            "status.weather": "looking up the weather…",
            "status.time": "checking the time…",
            "status.reminder": "setting up the reminder…",
            "status.sub_assistant": "asking a colleague…",
            "status.web_search": "searching the web…",
            "status.read_page": "reading the page…",
            "status.working": "working on it…",
        },
        "ru": {
            "apology": "Извините, сейчас не могу ответить: языковая модель недоступна. "
            "Попробуйте, пожалуйста, через несколько минут.",
            "out_of_steps": "Извините, не получилось довести дело до конца: понадобилось "
            "больше шагов, чем мне разрешено на одно сообщение. Попробуйте попросить о чём-то "
            "более конкретном.",
            "turn_failed": "Извините, с этим сообщением что-то пошло не так, и я не смог на "
            "него ответить. Попробуйте, пожалуйста, ещё раз или сформулируйте иначе.",
            "not_configured": "Извините, я ещё не настроен: не задан ассистент-секретарь.",
            "edited": "_(отвечаю на исправленное сообщение)_",
            "token_budget_spent": "Извините, на сегодня ваш лимит языковой модели исчерпан. "
            "Он обновится в 00:00 UTC, через {hours} ч {minutes} мин; /usage покажет ваши "
            "цифры.",
            "held": "❓ Жду вашего «Да»: {what}",
            "confirmed_done": "✅ Сделано: {what}",
            "confirmed_failed": "Извините, это не удалось сделать: {error}",
            "confirmed_gone": "На этот вопрос уже ответили или он устарел: ничего не сделано.",
            "status.calendar": "смотрю ваш календарь…",
            "status.weather": "узнаю погоду…",
            "status.time": "смотрю время…",
            "status.reminder": "ставлю напоминание…",
            "status.sub_assistant": "спрашиваю коллегу…",
            "status.web_search": "ищу в интернете…",
            "status.read_page": "читаю страницу…",
            "status.working": "работаю над этим…",
        },
        "uk": {
            "apology": "Вибачте, зараз не можу відповісти: мовна модель недоступна. "
            "Спробуйте, будь ласка, за кілька хвилин.",
            "out_of_steps": "Вибачте, не вдалося завершити: знадобилося більше кроків, ніж "
            "мені дозволено на одне повідомлення. Спробуйте попросити про щось конкретніше.",
            "turn_failed": "Вибачте, з цим повідомленням щось пішло не так, і я не зміг на "
            "нього відповісти. Спробуйте, будь ласка, ще раз або сформулюйте інакше.",
            "not_configured": "Вибачте, мене ще не налаштовано: не задано асистента-секретаря.",
            "edited": "_(відповідаю на виправлене повідомлення)_",
            "token_budget_spent": "Вибачте, на сьогодні ваш ліміт мовної моделі вичерпано. "
            "Він оновиться о 00:00 UTC, через {hours} год {minutes} хв; /usage покаже ваші "
            "цифри.",
            "held": "❓ Чекаю на ваше «Так»: {what}",
            "confirmed_done": "✅ Зроблено: {what}",
            "confirmed_failed": "Вибачте, це не вдалося зробити: {error}",
            "confirmed_gone": "На це питання вже відповіли або воно застаріло: нічого не зроблено.",
            "status.calendar": "дивлюся ваш календар…",
            "status.weather": "дізнаюся погоду…",
            "status.time": "дивлюся час…",
            "status.reminder": "ставлю нагадування…",
            "status.sub_assistant": "питаю колегу…",
            "status.web_search": "шукаю в інтернеті…",
            "status.read_page": "читаю сторінку…",
            "status.working": "працюю над цим…",
        },
        "de": {
            "apology": "Entschuldigung, ich kann gerade nicht antworten: mein Sprachmodell ist "
            "nicht erreichbar. Bitte versuche es in ein paar Minuten noch einmal.",
            "out_of_steps": "Entschuldigung, das konnte ich nicht abschließen: es hätte mehr "
            "Schritte gebraucht, als ich pro Nachricht machen darf. Magst du es kleiner oder "
            "genauer fragen?",
            "turn_failed": "Entschuldigung, bei dieser Nachricht ist etwas schiefgegangen, ich "
            "konnte nicht antworten. Bitte versuche es noch einmal oder formuliere es anders.",
            "not_configured": "Entschuldigung, ich bin noch nicht eingerichtet: es ist kein "
            "Sekretariats-Assistent konfiguriert.",
            "edited": "_(Antwort auf deine bearbeitete Nachricht)_",
            "token_budget_spent": "Entschuldigung, dein heutiges Kontingent für mein "
            "Sprachmodell ist aufgebraucht. Es wird um 00:00 UTC zurückgesetzt, in {hours} "
            "Std. {minutes} Min.; /usage zeigt deine Zahlen.",
            "held": "❓ Wartet auf dein Ja: {what}",
            "confirmed_done": "✅ Erledigt: {what}",
            "confirmed_failed": "Entschuldigung, das ging nicht: {error}",
            "confirmed_gone": "Diese Frage ist schon beantwortet oder abgelaufen: nichts wurde "
            "getan.",
            "status.calendar": "sehe in deinem Kalender nach…",
            "status.weather": "schaue nach dem Wetter…",
            "status.time": "sehe nach der Uhrzeit…",
            "status.reminder": "lege die Erinnerung an…",
            "status.sub_assistant": "frage einen Kollegen…",
            "status.web_search": "suche im Web…",
            "status.read_page": "lese die Seite…",
            "status.working": "arbeite daran…",
        },
    }
)
