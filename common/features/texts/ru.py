"""Все тексты по-русски: те же ключи и те же `{поля}`, что в en.py."""

TEXTS: dict[str, str] = {
    # tg_bot
    # меню команд (простой текст, не длиннее 256 символов)
    "command.start": "Начать или узнать, что я умею",
    "command.help": "Что я умею и как меня спросить",
    "command.model": "Показать модели ИИ или выбрать: /model ИМЯ",
    "command.reset": "Начать разговор заново",
    "command.timezone": "Показать или задать часовой пояс: /timezone Москва или UTC+3",
    "command.forget": "Удалить всё, что я о вас знаю",
    "command.briefings": "Ваши сводки по расписанию; отменить: /briefings cancel N",
    "command.reminders": "Ваши напоминания; отменить: /reminders cancel N",
    "command.calendar": "Подключить Google Календарь или отключить: /calendar disconnect",
    "command.memory": "Что я о вас помню, с кнопкой «Удалить» у каждого",
    "command.tasks": "Ваши открытые задачи, с кнопкой ✓ для каждой",
    "command.usage": "Ваш расход за месяц и за сегодня: сообщения, токены, инструменты",
    "command.voice": "Ответы ещё и голосом: /voice on или /voice off",
    "command.link": "Связать ваши аккаунты в других каналах: /link или /link КОД",
    "command.unlink": "Отвязать этот аккаунт Telegram от других ваших аккаунтов",
    # приветствие и помощь
    "start.new": (
        "Здравствуйте, {name}! Я ваш личный секретарь.\n\n"
        "Пишите мне обычными словами: я подскажу время и погоду где угодно, "
        "веду ваш календарь и вовремя напоминаю о делах.\n\n"
        "Команды — в /help."
    ),
    "start.returning": "С возвращением, {name}! Чем могу помочь?",
    "help.text": (
        "Пишите мне как человеку, например:\n"
        "• _Какая погода завтра в Москве?_\n"
        "• _Напомни позвонить Анне в 18:00_\n"
        "• _Что у меня в календаре на этой неделе?_\n\n"
        "В группе упомяните меня или ответьте на моё сообщение.\n\n"
        "**Команды**\n{commands}"
    ),
    "help.command": "/{command} — {description}",
    # доступ, ошибки, то, что бот не читает
    "pairing.ask": "Это частный ассистент. Попросите владельца одобрить код {code}.",
    "pairing.refused": "Извините, владелец вас не одобрил.",
    "pairing.owner_notice": "{name} ({telegram_id}) просит доступ к боту: код {code}.",
    "pairing.approved": "Одобрено: {code}.",
    "pairing.refused_by_owner": "Отклонено: {code}.",
    "group.not_enabled": "Бот не включён в этой группе.",
    "label.pairing_approve": "✅ Одобрить",
    "label.pairing_refuse": "🚫 Отклонить",
    "refusal.not_allowed": (
        "Извините, это частный ассистент, и я не могу с вами общаться. "
        "Попросите владельца добавить ваш Telegram id ({telegram_id})."
    ),
    "error.generic": "Извините, у меня что-то сломалось. Попробуйте, пожалуйста, через минуту.",
    "error.redis_full": "Извините, у меня сейчас не хватает места. Отвечу, как только смогу.",
    "unknown_command": "Я не знаю команду /{command}. Отправьте /help, чтобы узнать, что я умею.",
    # ограничения и /usage
    "limit.flood": (
        "Вы пишете быстрее, чем я успеваю читать; подождите, пожалуйста, {seconds} с "
        "и отправьте вопрос ещё раз."
    ),
    "usage.text": (
        "**В этом месяце** (с {month_since}, {zone}):\n"
        "• Сообщений мне: {month_messages}\n"
        "• Токенов ИИ: {month_tokens}\n"
        "• Вызовов инструментов: {month_tools}\n"
        "• Нарисовано картинок: {month_images}\n\n"
        "**Сегодня** (UTC; счёт начнётся заново через {hours} ч {minutes} мин):\n"
        "• Токенов ИИ использовано: {tokens}{allowance}\n"
        "• Сообщений мне: {messages}\n"
        "• Активных напоминаний: {reminders}"
    ),
    "usage.budget": " из {budget} (осталось {left})",
    "usage.no_budget": " (без дневного лимита)",
    # /memory: факты о пользователе
    "memory.list": (
        "**Что я о вас помню** ({count}):\n{facts}\n\n"
        "Нажмите кнопку, чтобы удалить факт; /memory edit 2 … меняет слова факта 2; "
        "/memory clear удаляет все факты."
    ),
    "memory.item": "{n}. {fact}",
    "memory.delete": "🗑 Удалить {n}",
    "memory.empty": (
        "Я пока ничего о вас не помню. Расскажите что-нибудь о себе "
        "(«мою жену зовут Анна», «я не ем мясо»), и я запомню."
    ),
    "memory.deleted": "Удалено: _{fact}_",
    "memory.deleted_notice": "Удалено.",
    "memory.stale_notice": "Этого уже нет.",
    "memory.private_only": (
        "То, что я о вас помню, — личное: отправьте мне /memory в личном чате."
    ),
    "memory.usage": (
        "Чтобы изменить факт, отправьте /memory edit, его номер и новые слова («/memory edit 2 я "
        "живу в Берлине»); /memory clear удаляет все факты; /memory показывает их."
    ),
    "memory.too_long": "Факт хранится не длиннее {max} символов: скажите короче.",
    "memory.no_such": "Факта с номером {n} нет: /memory покажет список.",
    "memory.duplicate": "Это я уже помню как другой факт.",
    "memory.edited": "Изменено {n}: _{fact}_",
    "memory.clear_confirm": "Удалить все факты о вас ({count})? Наши разговоры останутся.",
    "memory.clear_yes": "Да, удалить все",
    "memory.clear_no": "Нет, оставить",
    "memory.cleared": "Готово: теперь я не помню о вас никаких фактов.",
    "memory.clear_kept": "Ничего не удалено: я помню всё, что вы рассказали.",
    "memory.clear_stale": (
        "Этот вопрос устарел, ничего не удалено. Отправьте /memory clear, чтобы спросить снова."
    ),
    # /tasks: список задач
    "tasks.list": (
        "**Ваши открытые задачи** ({count}):\n{tasks}\n\nНажмите ✓, когда задача выполнена."
    ),
    "tasks.item": "{n}. {mark}{title}{due}",
    "tasks.high": "❗ ",
    "tasks.low": "↓ ",
    "tasks.due": " — срок {deadline}",
    "tasks.complete": "✓ {n}",
    "tasks.empty": (
        "Открытых задач нет. Скажите мне задачу («добавь задачу: отправить отчёт к пятнице»), "
        "и я её запишу."
    ),
    "tasks.completed": "Выполнено: _{title}_",
    "tasks.completed_notice": "Выполнено.",
    "tasks.stale_notice": "Эта задача уже выполнена или удалена.",
    "tasks.private_only": "Ваши задачи — личное: отправьте мне /tasks в личном чате.",
    # /link и /unlink: один человек во всех каналах
    "tasks.google_link": (
        "Чтобы задачи совпадали с Google Tasks, разрешите мне доступ к ним: "
        "[разрешить Google Tasks]({url})\n\n"
        "Ссылка работает один раз, {minutes} мин. После подтверждения задачи синхронизируются."
    ),
    "tasks.google_button": "Разрешить Google Tasks",
    "tasks.google_on": (
        "Синхронизация с Google Tasks включена: что вы добавите, выполните или удалите здесь, "
        "появится там, и наоборот. /tasks google off выключает её."
    ),
    "tasks.google_off": "Синхронизация с Google Tasks выключена. Оба списка остаются как есть.",
    "tasks.google_unreachable": (
        "Google Tasks сейчас недоступен: задачи сохранены здесь и попадут в Google "
        "при следующей синхронизации."
    ),
    "tasks.google_unavailable": "Извините, сейчас не получается связаться с Google Tasks. "
    "Попробуйте позже.",
    "link.code": (
        "Ваш код: `{code}`\n\n"
        "Отправьте `/link {code}` из другого вашего аккаунта — WhatsApp, Slack, электронной "
        "почты или веб-чата — в течение {minutes} минут. Тогда там и здесь вы один человек: "
        "память, напоминания, календарь и настройки."
    ),
    "link.done": "Готово. Теперь вы один человек в каналах: {channels}.",
    "link.bad_code": (
        "Это не похоже на мой код. Отправьте /link в другом вашем аккаунте, чтобы получить его, "
        "а затем `/link КОД` здесь."
    ),
    "link.unknown_code": (
        "Такого кода нет, он уже использован или истёк. Отправьте /link в другом аккаунте, "
        "чтобы получить новый."
    ),
    "link.second_telegram": (
        "К тому аккаунту уже привязан другой аккаунт Telegram. Сначала отвяжите его (/unlink там)."
    ),
    "link.private_only": "Связать аккаунты можно в личном чате: отправьте мне /link там.",
    "unlink.done": (
        "Этот аккаунт Telegram снова сам по себе. Другие ваши аккаунты ({channels}) сохранили "
        "всё, что было."
    ),
    "unlink.alone": "Этот аккаунт Telegram не связан ни с каким другим.",
    "link.code_from": (
        "Ваш код: `{code}`\n\n"
        "Отправьте `/link {code}` из другого вашего аккаунта — Telegram, WhatsApp, Slack, "
        "электронной почты или веб-чата — в течение {minutes} минут. Тогда там и здесь вы один "
        "человек: память, напоминания, календарь и настройки."
    ),
    "link.second_account": (
        "У этого человека уже связан другой аккаунт {channel}. Сначала отвяжите его (/unlink там)."
    ),
    "unlink.done_in": (
        "Этот аккаунт {channel} снова сам по себе. Другие ваши аккаунты ({channels}) сохранили "
        "всё, что было."
    ),
    "unlink.alone_in": "Этот аккаунт {channel} не связан ни с каким другим.",
    "channel.email": "электронная почта",
    "channel.web": "веб-чат",
    "channel.api": "API",
    "usage.private_only": "Это личное: отправьте мне /usage в личном чате.",
    "group.empty_mention": "Да? Напишите вопрос вместе с упоминанием или ответьте мне.",
    "nontext.video": (
        "Видео я не смотрю — пришлите текст, голосовое сообщение, картинку или файл."
    ),
    "nontext.sticker": "Отличный стикер! Напишите, пожалуйста, словами или скажите голосом.",
    "nontext.other": (
        "Такие сообщения я не читаю. Пришлите текст, голосовое сообщение, картинку или файл."
    ),
    # голосовые, картинки, документы
    "media.too_long.voice": (
        "Это голосовое слишком длинное для меня: я слушаю до {limit}. "
        "Пришлите, пожалуйста, покороче или напишите текстом."
    ),
    "media.too_long.audio": (
        "Эта запись слишком длинная для меня: я слушаю до {limit}. Пришлите покороче, пожалуйста."
    ),
    "media.too_big": "Этот файл слишком большой для меня: я принимаю файлы до {limit}.",
    "media.unreadable": "Не получилось открыть этот файл. Пришлёте ещё раз?",
    "media.too_many_pixels": (
        "В этой картинке слишком много пикселей для меня. Пришлите, пожалуйста, поменьше."
    ),
    "media.over_budget": (
        "У меня уже ждут ваши файлы на {limit}. Дождитесь, пожалуйста, ответа и пришлите остальное."
    ),
    "media.storage_full": (
        "Извините, сейчас я не могу принять файл: хранилище заполнено. Пришлите его, "
        "пожалуйста, через несколько минут."
    ),
    "media.download_failed": (
        "Извините, не получилось забрать ваш файл. Пришлите его ещё раз через минуту."
    ),
    "media.minutes": "{n} мин",
    "media.minutes_seconds": "{m} мин {s} с",
    "media.seconds": "{n} с",
    # /model
    "model.current": "Вам отвечает **{model}**.\n\n{models}\n\nВыбрать другую: /model ИМЯ.",
    "model.default": "Вам отвечает модель по умолчанию.\n\n{models}\n\nВыбрать: /model ИМЯ.",
    "model.list": "Доступные модели:\n{items}",
    "model.item": "• **{name}** — {display}",
    "model.item_default": "• **{name}** — {display} (по умолчанию)",
    "model.set": "Готово: теперь вам отвечает **{model}**.",
    "model.unknown": "Я не знаю модель **{name}**.\n\n{models}",
    "model.none": "Модели ИИ ещё не настроены. Обратитесь, пожалуйста, к администратору.",
    # /reset
    "reset.done": "Начнём с чистого листа: прежний разговор я отложил. Что дальше?",
    # /timezone
    "timezone.current": "Ваш часовой пояс — **{zone}** ({offset}), там сейчас {time}.",
    "timezone.unset": (
        "Вы не задали часовой пояс, поэтому я использую **{zone}**. "
        "Задайте свой так: /timezone Europe/Moscow"
    ),
    "timezone.set": "Теперь ваш часовой пояс — **{zone}** ({offset}), там сейчас {time}.",
    "timezone.invalid": (
        "Я не знаю часовой пояс **{zone}**. Напишите город (/timezone Москва), "
        "смещение от UTC (/timezone UTC+3) или название вроде Europe/Moscow — "
        "или отправьте мне свою геопозицию."
    ),
    "timezone.found_place": "Нашёл по месту: {place}.",
    "timezone.candidate": "• {place} — /timezone {zone}",
    "timezone.ambiguous": (
        "**{text}** — так называются разные места с разными часовыми поясами:\n{places}\n\n"
        "Отправьте то, что имеете в виду."
    ),
    "timezone.offset_unsupported": (
        "Ни один часовой пояс не держит {offset} круглый год, так что по смещению "
        "я не смогу верно вести ваше время. Напишите лучше город."
    ),
    "timezone.lookup_down": (
        "Сейчас я не могу искать места. Укажите пояс (/timezone Europe/Moscow) "
        "или смещение (/timezone UTC+3) или попробуйте через минуту."
    ),
    "timezone.location_failed": (
        "Не удалось определить часовой пояс этого места. Напишите /timezone и ваш город."
    ),
    "timezone.reminder_item": "• {when} — {text}",
    "timezone.move_offer": (
        "Напоминания ({count}) были поставлены по поясу **{old}**, потому что вы его "
        "не задали:\n{reminders}\n\n"
        "Отправьте /timezone move, чтобы они сработали в то же время по часам {zone}, "
        "или /timezone keep, чтобы оставить как есть."
    ),
    "timezone.moved": "Перенёс ({count}) в {zone}, то же время по часам:\n{reminders}",
    "timezone.move_passed": "Не перенёс (в {zone} это время уже прошло):\n{reminders}",
    "timezone.kept": "Готово: оставил как есть ({count}).",
    "timezone.nothing_to_move": "Переносить нечего.",
    "timezone.move_needs_zone": "Сначала задайте часовой пояс, например /timezone Москва.",
    # /forget
    "forget.confirm": (
        "Я удалю всё, что храню о вас: настройки, наши разговоры, напоминания "
        "и подключение календаря. Отменить это нельзя.\n\n"
        "Чтобы продолжить, отправьте `/forget confirm` в течение {minutes} мин."
    ),
    "forget.done": "Готово: я забыл всё о вас. Отправьте /start, чтобы начать снова.",
    # /reminders
    "reminders.none": (
        "У вас нет предстоящих напоминаний. Просто попросите, например: "
        "_напомни позвонить Анне в 18:00_."
    ),
    "reminders.list": (
        "**Ваши напоминания** (время {zone}):\n{items}\n\n"
        "Чтобы отменить, отправьте `/reminders cancel НОМЕР` или просто скажите, какое."
    ),
    "reminders.item": "{number}. {when} — {text}",
    "reminders.urgent_text": (
        "🚨 {text}"
        " (срочно: каждые {minutes} мин, пока не нажмёте «Готово», не больше {repeats} раз)"
    ),
    "reminders.item_repeating": "{number}. {when} — {text} ({rule})",
    "reminders.weekdays": "пн,вт,ср,чт,пт,сб,вс",
    "reminders.briefings": "Сводок по расписанию: {count}, см. /briefings.",
    "reminders.cancelled": "Напоминание отменено: {text}",
    "reminders.no_such": (
        "Напоминания с номером {number} нет. Отправьте /reminders, чтобы увидеть список."
    ),
    # /briefings
    "briefings.none": (
        "У вас нет сводок по расписанию. Просто попросите, например: _по будням в 8 присылай "
        "мои дела и погоду в Берлине_."
    ),
    "briefings.list": (
        "**Ваши сводки** (время {zone}):\n{items}\n\n"
        "Чтобы отменить, нажмите кнопку или отправьте `/briefings cancel НОМЕР`; чтобы "
        "изменить, просто скажите мне."
    ),
    "briefings.cancelled": "Сводка отменена: {text}",
    "briefings.no_such": "Сводки с номером {number} нет. Список: /briefings.",
    "briefings.cancelled_notice": "Сводка отменена.",
    "briefings.gone_notice": "Эта сводка уже отменена.",
    # /calendar
    "calendar.connect": (
        "Подключите Google Календарь, и я буду рассказывать о ваших планах и добавлять события: "
        "[подключить Google Календарь]({url})\n\n"
        "Ссылка сработает один раз в течение {minutes} мин."
    ),
    "calendar.reconnect": (
        "Google больше не принимает подключение к вашему календарю. Подключите его снова: "
        "[подключить Google Календарь]({url})\n\n"
        "Ссылка сработает один раз в течение {minutes} мин."
    ),
    "calendar.connected": (
        "Ваш Google Календарь подключён: **{account}**.\n\n"
        "Чтобы отключить его, отправьте /calendar disconnect.\n\n"
        "Чтобы подключить ещё один аккаунт Google (рабочий или личный), отправьте /calendar add."
    ),
    "calendar.connected_unknown": (
        "Ваш Google Календарь подключён.\n\nЧтобы отключить его, отправьте /calendar disconnect."
    ),
    "calendar.disconnected": "Готово: Google Календарь отключён, мой доступ к нему отозван.",
    "calendar.not_connected": "Календарь не подключён. Отправьте /calendar, чтобы подключить.",
    "calendar.private_only": "Календари — личное дело: отправьте мне /calendar в личном чате.",
    "calendar.unavailable": "Сервис календаря сейчас не отвечает. Попробуйте через минуту.",
    "calendar.pending": (
        "Аккаунт Google ждёт вашего подтверждения: **{account}**.\n\n"
        "Отправьте `/calendar confirm`, чтобы подключить его, или `/calendar decline`, "
        "если он не ваш."
    ),
    "calendar.confirmed": (
        "✅ Google Календарь подключён: **{account}**. Спросите меня, что у вас в календаре."
    ),
    "calendar.confirmed_unknown": (
        "✅ Google Календарь подключён. Спросите меня, что у вас в календаре."
    ),
    "calendar.nothing_pending": (
        "Ни один аккаунт Google не ждёт подтверждения (запрос действует недолго). "
        "Отправьте /calendar, чтобы получить новую ссылку."
    ),
    "calendar.declined": "Отклонено: этот аккаунт Google не подключён, его доступ отозван.",
    # кнопки (notice: короткий простой текст, который показывается при нажатии)
    "button.unknown": "Эта кнопка больше не работает.",
    "button.refused": "Извините, это закрытый бот.",
    "button.used": "Уже сделано.",
    "button.not_yours": "Эта кнопка не для вас.",
    "button.failed": "Извините, не получилось. Попробуйте ещё раз.",
    "reminders.cancelled_notice": "Напоминание отменено.",
    "reminders.cancelled_mark": "✖ Отменено.",
    "reminders.gone_notice": "Это напоминание уже отменено.",
    "reminders.gone_mark": "Это напоминание больше не действует.",
    "reminders.snoozed_notice": "Отложено.",
    "reminders.snoozed_mark": "⏰ Напомню снова {when}.",
    "reminders.done_notice": "Готово.",
    "reminders.done_mark": "✅ Готово.",
    "reminders.repeats_stopped_notice": "Готово: больше не повторяю.",
    "reminders.repeats_stopped_mark": "✅ Готово: больше не повторяю.",
    "model.set_notice": "Модель изменена.",
    "model.gone_notice": "Этой модели больше нет.",
    "model.gone": "Этой модели больше нет. Отправьте /model, чтобы увидеть доступные.",
    "forget.yes": "Да, забудь меня",
    "forget.no": "Нет, ничего не удалять",
    "forget.done_notice": "Забыто.",
    "forget.stale_notice": "Этот вопрос уже неактуален.",
    "forget.stale": "Этот вопрос уже неактуален, ничего не удалено. Отправьте /forget ещё раз.",
    "forget.kept_notice": "Ничего не удалено.",
    "forget.kept": "Ничего не удалено: я по-прежнему помню наши разговоры.",
    "calendar.add": (
        "Подключите ещё один аккаунт Google (рабочий или личный): [подключить аккаунт "
        "Google]({url})\n\nСсылка сработает один раз в течение {minutes} мин."
    ),
    "calendar.accounts": "Ваши аккаунты Google:",
    "calendar.account_line": "• **{account}**",
    "calendar.account_line_reconnect": "• **{account}** ⚠️ нужно переподключить",
    "calendar.account_default": " (основной: новые события попадают сюда)",
    "calendar.accounts_help": (
        "\n`/calendar default <аккаунт>` выбирает, куда попадают новые события, `/calendar "
        "disconnect <аккаунт>` отключает аккаунт, `/calendar add` подключает ещё один."
    ),
    "calendar.default_button": "Сделать {account} основным",
    "calendar.disconnect_account_button": "Отключить {account}",
    "calendar.reconnect_button": "Переподключить",
    "calendar.which_account": (
        "Какой аккаунт Google? Назовите его адрес или часть адреса: {accounts}."
    ),
    "calendar.disconnected_account": "Готово: **{account}** отключён, мой доступ к нему отозван.",
    "calendar.default_now": "Новые события теперь попадают в **{account}**.",
    "calendar.confirmed_another": (
        "✅ **{account}** тоже подключён. Я читаю календари всех ваших аккаунтов Google; "
        "новые события по-прежнему попадают в основной (отправьте /calendar, чтобы это "
        "изменить)."
    ),
    "calendar.default_notice": "Основной аккаунт изменён.",
    "calendar.connect_button": "Подключить Google Календарь",
    "calendar.disconnect_button": "Отключить",
    "calendar.disconnected_notice": "Отключено.",
    "calendar.unavailable_notice": "Сервис календаря не отвечает. Попробуйте через минуту.",
    "calendar.deleted": "🗑 Удалено: **{summary}**.",
    "calendar.deleted_already": "**{summary}** уже нет в вашем календаре.",
    "calendar.delete_kept": "Оставлено: **{summary}**.",
    "calendar.deleted_notice": "Удалено.",
    "calendar.kept_notice": "Оставлено.",
    "confirm.yes_notice": "Делаю.",
    "confirm.running": "✅ Вы сказали «да»: делаю.",
    "confirm.no_notice": "Не сделано.",
    "confirm.dropped": "✖ Не сделано: ничего не сохранено и не удалено.",
    "catalogue.asked": "🔎 Вы спросили о «{name}».",
    "catalogue.notice": "Секунду.",
    "feedback.up_notice": "Спасибо за отзыв!",
    "feedback.down_notice": "Спасибо, учтём.",
    "feedback.ask_comment": (
        "😔 Жаль, что ответ не помог. Что было не так? "
        "Напишите следующим сообщением или нажмите «Пропустить»."
    ),
    "feedback.comment_saved": "Спасибо, комментарий сохранён.",
    "feedback.skipped": "Хорошо, без комментария.",
    "feedback.expired": "Этот ответ больше нельзя оценить.",
    "confirm.expired": "Этот вопрос устарел: ничего не сделано. Попросите снова, если нужно.",
    # /voice
    "voice.state_on": (
        "Голосовые ответы **включены**: каждый ответ приходит ещё и голосовым сообщением. "
        "Отправьте /voice off, чтобы получать только текст."
    ),
    "voice.state_off": (
        "Голосовые ответы **выключены**: я отвечаю текстом. Отправьте /voice on, чтобы каждый "
        "ответ приходил ещё и голосом, или попросите ответить голосом в самом сообщении."
    ),
    "voice.on": (
        "Готово: каждый ответ придёт ещё и голосовым. Отправьте /voice off, чтобы выключить."
    ),
    "voice.off": "Готово: только текстовые ответы. Отправьте /voice on, чтобы снова слышать их.",
    "voice.unknown": "Не понял **{word}**. Отправьте /voice on или /voice off.",
    "voice.no_model": (
        "Модель для озвучки пока не настроена, поэтому ответы будут текстом, пока администратор "
        "её не добавит."
    ),
    # assistant
    "assistant.apology": (
        "Извините, сейчас не могу ответить: языковая модель недоступна. "
        "Попробуйте, пожалуйста, через несколько минут."
    ),
    "assistant.out_of_steps": (
        "Извините, не получилось довести дело до конца: понадобилось больше шагов, чем мне "
        "разрешено на одно сообщение. Попробуйте попросить о чём-то более конкретном."
    ),
    "assistant.turn_failed": (
        "Извините, с этим сообщением что-то пошло не так, и я не смог на него ответить. "
        "Попробуйте, пожалуйста, ещё раз или сформулируйте иначе."
    ),
    "assistant.no_such_assistant": (
        "Извините, ассистент «{name}» здесь недоступен: активного ассистента с таким именем нет."
    ),
    "assistant.not_configured": "Извините, я ещё не настроен: не задан ассистент-секретарь.",
    "assistant.edited": "_(отвечаю на исправленное сообщение)_",
    "assistant.token_budget_spent": (
        "Извините, на сегодня ваш лимит языковой модели исчерпан. "
        "Он обновится в 00:00 UTC, через {hours} ч {minutes} мин; /usage покажет ваши цифры."
    ),
    "assistant.held": "❓ Жду вашего «Да»: {what}",
    "assistant.confirmed_done": "✅ Сделано: {what}",
    "assistant.remember_proposal": "💡 Запомнить это о вас? _{fact}_",
    "assistant.remembered": "✅ Запомнил: _{fact}_",
    "assistant.confirmed_failed": "Извините, это не удалось сделать: {error}",
    "assistant.confirmed_gone": "На этот вопрос уже ответили или он устарел: ничего не сделано.",
    "assistant.status.calendar": "смотрю ваш календарь…",
    "assistant.status.weather": "узнаю погоду…",
    "assistant.status.time": "смотрю время…",
    "assistant.status.reminder": "ставлю напоминание…",
    "assistant.status.sub_assistant": "спрашиваю коллегу…",
    "assistant.status.web_search": "ищу в интернете…",
    "assistant.status.read_page": "читаю страницу…",
    "assistant.status.draw": "рисую картинку…",
    "assistant.status.working": "работаю над этим…",
    "assistant.draw.no_model": (
        "Извините, здесь я не умею рисовать: не настроена модель, которая создаёт изображения."
    ),
    "assistant.draw.refused": (
        "Извините, это я нарисовать не могу: сервис картинок отклонил такой запрос. Опишите "
        "что-нибудь другое?"
    ),
    "assistant.draw.not_here": (
        "Извините, в этом чате я не могу присылать картинки: попросите меня в Telegram или в "
        "веб-чате."
    ),
    "assistant.draw.failed": (
        "Извините, сейчас не получилось нарисовать картинку. Попробуйте чуть позже."
    ),
    # голосовые, картинки и документы, которые ассистент не может принять
    "attachment.voice_quote": "🎤 «{text}»",
    "attachment.document_cut": "📄 {name} длинный: я прочитал первые {chars} символов.",
    "attachment.voice_too_long": (
        "Извините, это голосовое слишком длинное: я слушаю до {seconds} секунд. "
        "Разделите его на части или напишите текстом, пожалуйста."
    ),
    "attachment.no_transcription": (
        "Извините, здесь я не умею слушать голосовые: не настроена модель распознавания речи. "
        "Напишите, пожалуйста, текстом."
    ),
    "attachment.transcription_failed": (
        "Извините, сейчас не получилось разобрать голосовое. "
        "Попробуйте ещё раз чуть позже или напишите текстом."
    ),
    "attachment.nothing_heard": "Извините, я не расслышал слов в этом голосовом.",
    "attachment.no_vision": (
        "Извините, здесь я не умею смотреть картинки: не настроена модель, "
        "которая видит изображения."
    ),
    "attachment.vision_other_model": (
        "Ваша модель {model} не видит картинки, а {vision} видит: "
        "переключитесь командой /model {vision} и пришлите картинку ещё раз."
    ),
    "attachment.picture_unreadable": (
        "Извините, не получилось открыть эту картинку. "
        "Пришлите её, пожалуйста, как фото в JPEG или PNG."
    ),
    "attachment.document_unsupported": "Извините, такие файлы я не читаю. Я читаю {supported}.",
    "attachment.document_unreadable": (
        "Извините, не получилось прочитать файл: похоже, он повреждён. Я читаю {supported}."
    ),
    "attachment.document_encrypted": (
        "Извините, файл защищён паролем, и я не могу его прочитать. "
        "Пришлите его, пожалуйста, без пароля."
    ),
    "attachment.document_empty": (
        "Извините, в этом файле нет текста (это скан?). Я читаю текст из {supported}."
    ),
    "attachment.document_too_big": (
        "Извините, файл слишком большой: я читаю документы до {megabytes} МБ."
    ),
    "attachment.file_expired": (
        "Извините, присланного файла у меня уже нет: он слишком долго ждал. "
        "Пришлите его, пожалуйста, ещё раз."
    ),
    "attachment.document_too_heavy": (
        "Извините, этот файл слишком тяжёлый, чтобы я его открыл: распакованный, он намного "
        "больше своего размера. Пришлите его текст или обычный PDF или DOCX."
    ),
    "attachment.picture_too_many_pixels": (
        "Извините, в этой картинке слишком много пикселей. "
        "Пришлите, пожалуйста, картинку поменьше (обычное фото подойдёт)."
    ),
    "attachment.pictures_too_big": (
        "Извините, картинок слишком много для одного сообщения: я беру до {megabytes} МБ "
        "картинок за раз. Пришлите, пожалуйста, меньше."
    ),
    # напоминание перед событием календаря
    "alert.event": "🔔 Через {minutes} мин, в {time}: {summary}",
    # кнопки
    "label.snooze_10m": "⏰ 10 мин",
    "label.snooze_1h": "⏰ 1 ч",
    "label.snooze_1d": "⏰ Завтра",
    "label.done": "✅ Готово",
    "label.catalogue_show": "Показать: {name}",
    "label.share_phone": "📱 Поделиться номером телефона",
    "label.feedback_up": "👍",
    "label.feedback_down": "👎",
    "label.feedback_skip": "Пропустить",
    "label.cancel": "✖ Отменить",
    "label.delete_yes": "🗑 Да, удалить",
    "label.delete_no": "Нет, оставить",
    "label.confirm_yes": "✅ Да, сделать",
    "label.confirm_no": "Нет, не надо",
    # cron_service
    "fire.reminder": "⏰ {text}",
    "fire.urgent": "🚨 Срочно: {text}\n(буду повторять, пока не нажмёте «Готово»)",
    "fire.urgent_repeat": "🚨 Срочно, повтор {repeat} из {of}: {text}",
    "fire.briefing": (
        "Сводка по расписанию, которую настроил пользователь: {text}\n"
        "Ответь по свежим данным из инструментов, одним коротким сообщением. Если есть "
        "инструмент почты, добавь важные письма за сегодня (его поиск) в нескольких строках."
    ),
    "fire.late": "⏰ (с опозданием) {text}\n(должно было прийти в {due})",
    "fire.missed_reminder": "Пропущенное напоминание (на {due}): {text}",
    "fire.missed_prompt": "Пропущенный запрос по расписанию (на {due}): {text}",
    # google_calendar_service
    "calendar.ask_owner": (
        "Подключить аккаунт Google {account} к вашему ассистенту?\n"
        "Отправьте /calendar confirm, чтобы подключить, или /calendar decline, если он не ваш. "
        "Запрос действует {minutes} мин."
    ),
    "calendar.unknown_account": "(адрес неизвестен)",
    # расписание словами (common/features/schedule.py); .few — для 2–4, .many — для остальных чисел
    "schedule.days": ("воскресеньям,понедельникам,вторникам,средам,четвергам,пятницам,субботам"),
    "schedule.every_weekday": (
        "каждое воскресенье,каждый понедельник,каждый вторник,каждую среду,каждый четверг,"
        "каждую пятницу,каждую субботу"
    ),
    "schedule.every_other_weekday": (
        "каждое второе воскресенье,каждый второй понедельник,каждый второй вторник,"
        "каждую вторую среду,каждый второй четверг,каждую вторую пятницу,каждую вторую субботу"
    ),
    "schedule.months": (
        "января,февраля,марта,апреля,мая,июня,июля,августа,сентября,октября,ноября,декабря"
    ),
    "schedule.numbers": "две,три,четыре",
    "schedule.ordinal.st": "{n}-го",
    "schedule.ordinal.nd": "{n}-го",
    "schedule.ordinal.rd": "{n}-го",
    "schedule.ordinal.th": "{n}-го",
    "schedule.and": "и",
    "schedule.at": "в {times}",
    "schedule.every_minute": "каждую минуту",
    "schedule.every_hour": "каждый час",
    "schedule.every_n_minutes.few": "каждые {n} минуты",
    "schedule.every_n_minutes.many": "каждые {n} минут",
    "schedule.hourly_at": "каждый час в :{minute}",
    "schedule.every_n_hours.few": "каждые {n} часа",
    "schedule.every_n_hours.many": "каждые {n} часов",
    "schedule.daily": "каждый день {at}",
    "schedule.workdays": "по будням {at}",
    "schedule.weekends": "по выходным {at}",
    "schedule.on_days": "по {days} {at}",
    "schedule.monthly": "каждый месяц {days} числа {at}",
    "schedule.months_skipped": "(месяцы без такого числа пропускаются)",
    "schedule.yearly": "каждый год {day} {month} {at}",
    "schedule.leap_years_only": "(только в високосные годы)",
    "schedule.every_other_day": "через день {at}",
    "schedule.every_n_days.few": "раз в {n} дня {at}",
    "schedule.every_n_days.many": "раз в {n} дней {at}",
    "schedule.weekly_on_days": "каждую неделю по {days} {at}",
    "schedule.every_other_week_on_days": "раз в две недели по {days} {at}",
    "schedule.every_n_weeks_on_days.few": "раз в {n} недели по {days} {at}",
    "schedule.every_n_weeks_on_days.many": "раз в {n} недель по {days} {at}",
    "schedule.since": "{schedule}, начиная с {day} {month} {year}",
    "schedule.cron_code": "по расписанию cron {code}",
    "schedule.rule_code": "по правилу повторения {code}",
    # ответы «да» и «нет»
    "words.yes": "да,подтвердить,подтверждаю",
    "words.no": "нет,отклонить,отклоняю",
    "words.move": "перенести,перенеси",
    "words.keep": "оставить,оставь",
    "words.on": "вкл,включить,включи",
    "words.off": "выкл,выключить,выключи",
    # a human operator (rest_service and tg_bot): the operator chat's messages and the
    # customer's notices
    "label.hand_back": "↩️ Вернуть боту",
    "handoff.requested": "🙋 *{customer}* просит человека.",
    "handoff.summary": "Кратко: {summary}",
    "handoff.recent": "Последние сообщения:",
    "handoff.how": (
        "Ответьте на это сообщение, чтобы написать клиенту; когда закончите, нажмите кнопку."
    ),
    "handoff.customer_said": "💬 *{customer}*: {text}",
    "handoff.customer_file": "(файл)",
    "handoff.no_answer": "К сожалению, сейчас все заняты. Мы свяжемся с вами, как только сможем.",
    "handoff.expired": (
        "⌛ Никто не ответил *{customer}* вовремя: клиенту сказали, что мы свяжемся, и "
        "записали заявку."
    ),
    "handoff.returned": "Вы снова общаетесь с ассистентом.",
    "handoff.handed_back": "↩️ Возвращено боту: {who}.",
    "handoff.closed": "Этот разговор уже не у оператора.",
    "handoff.notice": "Возвращено боту",
}
