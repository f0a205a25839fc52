"""Усі тексти українською: ті самі ключі й ті самі `{поля}`, що в en.py."""

TEXTS: dict[str, str] = {
    # tg_bot
    # меню команд (простий текст, не довше 256 символів)
    "command.start": "Почати або дізнатися, що я вмію",
    "command.help": "Що я вмію і як мене запитати",
    "command.model": "Показати моделі ШІ або вибрати: /model НАЗВА",
    "command.reset": "Почати розмову заново",
    "command.timezone": "Показати або задати часовий пояс: /timezone Київ або UTC+2",
    "command.forget": "Видалити все, що я про вас знаю",
    "command.briefings": "Ваші зведення за розкладом; скасувати: /briefings cancel N",
    "command.reminders": "Ваші нагадування; скасувати: /reminders cancel N",
    "command.calendar": "Підключити Google Календар або відключити: /calendar disconnect",
    "command.memory": "Що я про вас пам'ятаю, з кнопкою «Видалити» біля кожного",
    "command.tasks": "Ваші відкриті завдання, з кнопкою ✓ для кожного",
    "command.usage": "Ваші витрати за місяць і за сьогодні: повідомлення, токени, інструменти",
    "command.voice": "Відповіді ще й голосом: /voice on або /voice off",
    "command.link": "Пов'язати ваші акаунти в інших каналах: /link або /link КОД",
    "command.unlink": "Відв'язати цей акаунт Telegram від інших ваших акаунтів",
    # привітання і довідка
    "start.new": (
        "Вітаю, {name}! Я ваш особистий секретар.\n\n"
        "Пишіть мені звичайними словами: я підкажу час і погоду будь-де, "
        "веду ваш календар і вчасно нагадую про справи.\n\n"
        "Команди — у /help."
    ),
    "start.returning": "З поверненням, {name}! Чим можу допомогти?",
    "help.text": (
        "Пишіть мені як людині, наприклад:\n"
        "• _Яка погода завтра в Києві?_\n"
        "• _Нагадай зателефонувати Анні о 18:00_\n"
        "• _Що в мене в календарі цього тижня?_\n\n"
        "У групі згадайте мене або дайте відповідь на моє повідомлення.\n\n"
        "**Команди**\n{commands}"
    ),
    "help.command": "/{command} — {description}",
    # доступ, помилки, те, чого бот не читає
    "pairing.ask": "Це приватний асистент. Попросіть власника схвалити код {code}.",
    "pairing.refused": "Вибачте, власник вас не схвалив.",
    "pairing.owner_notice": "{name} ({telegram_id}) просить доступ до бота: код {code}.",
    "pairing.approved": "Схвалено: {code}.",
    "pairing.refused_by_owner": "Відхилено: {code}.",
    "group.not_enabled": "Бот не увімкнено в цій групі.",
    "label.pairing_approve": "✅ Схвалити",
    "label.pairing_refuse": "🚫 Відхилити",
    "refusal.not_allowed": (
        "Вибачте, це приватний асистент, і я не можу з вами спілкуватися. "
        "Попросіть власника додати ваш Telegram id ({telegram_id})."
    ),
    "error.generic": "Вибачте, у мене щось зламалося. Спробуйте, будь ласка, за хвилину.",
    "error.redis_full": "Вибачте, зараз мені бракує місця. Відповім, щойно зможу.",
    "unknown_command": "Я не знаю команди /{command}. Надішліть /help, щоб дізнатися, що я вмію.",
    # обмеження і /usage
    "limit.flood": (
        "Ви пишете швидше, ніж я встигаю читати; зачекайте, будь ласка, {seconds} с "
        "і надішліть запитання ще раз."
    ),
    "usage.text": (
        "**Цього місяця** (з {month_since}, {zone}):\n"
        "• Повідомлень мені: {month_messages}\n"
        "• Токенів ШІ: {month_tokens}\n"
        "• Викликів інструментів: {month_tools}\n"
        "• Намальовано зображень: {month_images}\n\n"
        "**Сьогодні** (UTC; лік почнеться заново через {hours} год {minutes} хв):\n"
        "• Використано токенів ШІ: {tokens}{allowance}\n"
        "• Повідомлень мені: {messages}\n"
        "• Активних нагадувань: {reminders}"
    ),
    "usage.budget": " із {budget} (залишилося {left})",
    "usage.no_budget": " (без денного ліміту)",
    # /memory: факти про користувача
    "memory.list": (
        "**Що я про вас пам'ятаю** ({count}):\n{facts}\n\n"
        "Натисніть кнопку, щоб видалити факт; /memory edit 2 … змінює слова факту 2; "
        "/memory clear видаляє всі факти."
    ),
    "memory.item": "{n}. {fact}",
    "memory.delete": "🗑 Видалити {n}",
    "memory.empty": (
        "Я поки нічого про вас не пам'ятаю. Розкажіть щось про себе "
        "(«мою дружину звати Анна», «я не їм м'яса»), і я запам'ятаю."
    ),
    "memory.deleted": "Видалено: _{fact}_",
    "memory.deleted_notice": "Видалено.",
    "memory.stale_notice": "Цього вже немає.",
    "memory.private_only": (
        "Те, що я про вас пам'ятаю, — особисте: надішліть мені /memory в особистому чаті."
    ),
    "memory.usage": (
        "Щоб змінити факт, надішліть /memory edit, його номер і нові слова («/memory edit 2 я живу "
        "в Берліні»); /memory clear видаляє всі факти; /memory показує їх."
    ),
    "memory.too_long": "Факт зберігається не довше {max} символів: скажіть коротше.",
    "memory.no_such": "Факту з номером {n} немає: /memory покаже список.",
    "memory.duplicate": "Це я вже пам'ятаю як інший факт.",
    "memory.edited": "Змінено {n}: _{fact}_",
    "memory.clear_confirm": "Видалити всі факти про вас ({count})? Наші розмови залишаться.",
    "memory.clear_yes": "Так, видалити всі",
    "memory.clear_no": "Ні, залишити",
    "memory.cleared": "Готово: тепер я не пам'ятаю про вас жодних фактів.",
    "memory.clear_kept": "Нічого не видалено: я пам'ятаю все, що ви розповіли.",
    "memory.clear_stale": (
        "Це питання застаріло, нічого не видалено. Надішліть /memory clear, щоб запитати знову."
    ),
    # /tasks: список завдань
    "tasks.list": (
        "**Ваші відкриті завдання** ({count}):\n{tasks}\n\nНатисніть ✓, коли завдання виконано."
    ),
    "tasks.item": "{n}. {mark}{title}{due}",
    "tasks.high": "❗ ",
    "tasks.low": "↓ ",
    "tasks.due": " — термін {deadline}",
    "tasks.complete": "✓ {n}",
    "tasks.empty": (
        "Відкритих завдань немає. Скажіть мені завдання («додай завдання: надіслати звіт до "
        "пʼятниці»), і я його запишу."
    ),
    "tasks.completed": "Виконано: _{title}_",
    "tasks.completed_notice": "Виконано.",
    "tasks.stale_notice": "Це завдання вже виконане або видалене.",
    "tasks.private_only": "Ваші завдання — особисте: надішліть мені /tasks в особистому чаті.",
    # /link і /unlink: одна людина в усіх каналах
    "tasks.google_link": (
        "Щоб завдання збігалися з Google Tasks, дозвольте мені доступ до них: "
        "[дозволити Google Tasks]({url})\n\n"
        "Посилання працює один раз, {minutes} хв. Після підтвердження завдання синхронізуються."
    ),
    "tasks.google_button": "Дозволити Google Tasks",
    "tasks.google_on": (
        "Синхронізацію з Google Tasks увімкнено: що ви додасте, виконаєте чи видалите тут, "
        "з'явиться там, і навпаки. /tasks google off вимикає її."
    ),
    "tasks.google_off": "Синхронізацію з Google Tasks вимкнено. Обидва списки лишаються як є.",
    "tasks.google_unreachable": (
        "Google Tasks зараз недоступний: завдання збережено тут, до Google вони потраплять "
        "під час наступної синхронізації."
    ),
    "tasks.google_unavailable": "Вибачте, зараз не вдається зв'язатися з Google Tasks. "
    "Спробуйте пізніше.",
    "link.code": (
        "Ваш код: `{code}`\n\n"
        "Надішліть `/link {code}` з іншого вашого акаунта — WhatsApp, Slack, електронної пошти "
        "чи веб-чату — протягом {minutes} хвилин. Тоді там і тут ви одна людина: пам'ять, "
        "нагадування, календар і налаштування."
    ),
    "link.done": "Готово. Тепер ви одна людина в каналах: {channels}.",
    "link.bad_code": (
        "Це не схоже на мій код. Надішліть /link в іншому вашому акаунті, щоб отримати його, "
        "а потім `/link КОД` тут."
    ),
    "link.unknown_code": (
        "Такого коду немає, його вже використано або він сплив. Надішліть /link в іншому "
        "акаунті, щоб отримати новий."
    ),
    "link.second_telegram": (
        "До того акаунта вже прив'язано інший акаунт Telegram. Спершу відв'яжіть його "
        "(/unlink там)."
    ),
    "link.private_only": "Пов'язати акаунти можна в особистому чаті: надішліть мені /link там.",
    "unlink.done": (
        "Цей акаунт Telegram знову сам по собі. Інші ваші акаунти ({channels}) зберегли все, "
        "що було."
    ),
    "unlink.alone": "Цей акаунт Telegram не пов'язаний з жодним іншим.",
    "link.code_from": (
        "Ваш код: `{code}`\n\n"
        "Надішліть `/link {code}` з іншого вашого акаунта — Telegram, WhatsApp, Slack, "
        "електронної пошти чи веб-чату — протягом {minutes} хвилин. Тоді там і тут ви одна "
        "людина: пам'ять, нагадування, календар і налаштування."
    ),
    "link.second_account": (
        "У цієї людини вже пов'язаний інший акаунт {channel}. Спершу відв'яжіть його (/unlink там)."
    ),
    "unlink.done_in": (
        "Цей акаунт {channel} знову сам по собі. Інші ваші акаунти ({channels}) зберегли все, "
        "що було."
    ),
    "unlink.alone_in": "Цей акаунт {channel} не пов'язаний з жодним іншим.",
    "channel.email": "електронна пошта",
    "channel.web": "веб-чат",
    "channel.api": "API",
    "usage.private_only": "Це особисте: надішліть мені /usage в особистому чаті.",
    "group.empty_mention": "Так? Напишіть запитання разом зі згадкою або дайте відповідь мені.",
    "nontext.video": (
        "Відео я не дивлюся — надішліть текст, голосове повідомлення, картинку або файл."
    ),
    "nontext.sticker": "Чудовий стікер! Напишіть, будь ласка, словами або скажіть голосом.",
    "nontext.other": (
        "Такі повідомлення я не читаю. Надішліть текст, голосове повідомлення, картинку або файл."
    ),
    # голосові, картинки, документи
    "media.too_long.voice": (
        "Це голосове задовге для мене: я слухаю до {limit}. "
        "Надішліть, будь ласка, коротше або напишіть текстом."
    ),
    "media.too_long.audio": (
        "Цей запис задовгий для мене: я слухаю до {limit}. Надішліть коротший, будь ласка."
    ),
    "media.too_big": "Цей файл завеликий для мене: я приймаю файли до {limit}.",
    "media.unreadable": "Не вдалося відкрити цей файл. Надішлете ще раз?",
    "media.too_many_pixels": (
        "У цій картинці забагато пікселів для мене. Надішліть, будь ласка, меншу."
    ),
    "media.over_budget": (
        "На мене вже чекають ваші файли на {limit}. Дочекайтеся, будь ласка, відповіді "
        "й надішліть решту."
    ),
    "media.storage_full": (
        "Вибачте, зараз я не можу прийняти файл: сховище заповнене. Надішліть його, "
        "будь ласка, за кілька хвилин."
    ),
    "media.download_failed": (
        "Вибачте, не вдалося забрати ваш файл. Надішліть його ще раз за хвилину."
    ),
    "media.minutes": "{n} хв",
    "media.minutes_seconds": "{m} хв {s} с",
    "media.seconds": "{n} с",
    # /model
    "model.current": "Вам відповідає **{model}**.\n\n{models}\n\nВибрати іншу: /model НАЗВА.",
    "model.default": (
        "Вам відповідає модель за замовчуванням.\n\n{models}\n\nВибрати: /model НАЗВА."
    ),
    "model.list": "Доступні моделі:\n{items}",
    "model.item": "• **{name}** — {display}",
    "model.item_default": "• **{name}** — {display} (за замовчуванням)",
    "model.set": "Готово: тепер вам відповідає **{model}**.",
    "model.unknown": "Я не знаю моделі **{name}**.\n\n{models}",
    "model.none": "Моделі ШІ ще не налаштовано. Зверніться, будь ласка, до адміністратора.",
    # /reset
    "reset.done": "Почнімо з чистого аркуша: попередню розмову я відклав. Що далі?",
    # /timezone
    "timezone.current": "Ваш часовий пояс — **{zone}** ({offset}), там зараз {time}.",
    "timezone.unset": (
        "Ви не задали часовий пояс, тому я використовую **{zone}**. "
        "Задайте свій так: /timezone Europe/Kyiv"
    ),
    "timezone.set": "Тепер ваш часовий пояс — **{zone}** ({offset}), там зараз {time}.",
    "timezone.invalid": (
        "Я не знаю часового поясу **{zone}**. Напишіть місто (/timezone Київ), "
        "зсув від UTC (/timezone UTC+2) або назву на кшталт Europe/Kyiv — "
        "або надішліть мені свою геопозицію."
    ),
    "timezone.found_place": "Знайшов за місцем: {place}.",
    "timezone.candidate": "• {place} — /timezone {zone}",
    "timezone.ambiguous": (
        "**{text}** — так називаються різні місця з різними часовими поясами:\n{places}\n\n"
        "Надішліть те, яке маєте на увазі."
    ),
    "timezone.offset_unsupported": (
        "Жоден часовий пояс не тримає {offset} цілий рік, тож за зсувом я не зможу "
        "правильно вести ваш час. Напишіть краще місто."
    ),
    "timezone.lookup_down": (
        "Зараз я не можу шукати місця. Вкажіть пояс (/timezone Europe/Kyiv) "
        "або зсув (/timezone UTC+2) чи спробуйте за хвилину."
    ),
    "timezone.location_failed": (
        "Не вдалося визначити часовий пояс цього місця. Напишіть /timezone і ваше місто."
    ),
    "timezone.reminder_item": "• {when} — {text}",
    "timezone.move_offer": (
        "Нагадування ({count}) було поставлено за поясом **{old}**, бо ви його "
        "не задали:\n{reminders}\n\n"
        "Надішліть /timezone move, щоб вони спрацювали в той самий час за годинником {zone}, "
        "або /timezone keep, щоб залишити як є."
    ),
    "timezone.moved": "Переніс ({count}) у {zone}, той самий час за годинником:\n{reminders}",
    "timezone.move_passed": "Не переніс (у {zone} цей час уже минув):\n{reminders}",
    "timezone.kept": "Готово: залишив як є ({count}).",
    "timezone.nothing_to_move": "Переносити нічого.",
    "timezone.move_needs_zone": "Спершу задайте часовий пояс, наприклад /timezone Київ.",
    # /forget
    "forget.confirm": (
        "Я видалю все, що зберігаю про вас: налаштування, наші розмови, нагадування "
        "і підключення календаря. Скасувати це не можна.\n\n"
        "Щоб продовжити, надішліть `/forget confirm` протягом {minutes} хв."
    ),
    "forget.done": "Готово: я забув усе про вас. Надішліть /start, щоб почати знову.",
    # /reminders
    "reminders.none": (
        "У вас немає майбутніх нагадувань. Просто попросіть, наприклад: "
        "_нагадай зателефонувати Анні о 18:00_."
    ),
    "reminders.list": (
        "**Ваші нагадування** (час {zone}):\n{items}\n\n"
        "Щоб скасувати, надішліть `/reminders cancel НОМЕР` або просто скажіть, яке."
    ),
    "reminders.item": "{number}. {when} — {text}",
    "reminders.urgent_text": (
        "🚨 {text}"
        " (терміново: кожні {minutes} хв, доки не натиснете «Готово», не більше {repeats} разів)"
    ),
    "reminders.item_repeating": "{number}. {when} — {text} ({rule})",
    "reminders.weekdays": "пн,вт,ср,чт,пт,сб,нд",
    "reminders.briefings": "Зведень за розкладом: {count}, див. /briefings.",
    "reminders.cancelled": "Нагадування скасовано: {text}",
    "reminders.no_such": (
        "Нагадування з номером {number} немає. Надішліть /reminders, щоб побачити список."
    ),
    # /briefings
    "briefings.none": (
        "У вас немає зведень за розкладом. Просто попросіть, наприклад: _у будні о 8 надсилай "
        "мої справи й погоду в Берліні_."
    ),
    "briefings.list": (
        "**Ваші зведення** (час {zone}):\n{items}\n\n"
        "Щоб скасувати, натисніть кнопку або надішліть `/briefings cancel НОМЕР`; щоб "
        "змінити, просто скажіть мені."
    ),
    "briefings.cancelled": "Зведення скасовано: {text}",
    "briefings.no_such": "Зведення з номером {number} немає. Список: /briefings.",
    "briefings.cancelled_notice": "Зведення скасовано.",
    "briefings.gone_notice": "Це зведення вже скасовано.",
    # /calendar
    "calendar.connect": (
        "Підключіть Google Календар, і я розповідатиму про ваші плани та додаватиму події: "
        "[підключити Google Календар]({url})\n\n"
        "Посилання спрацює один раз протягом {minutes} хв."
    ),
    "calendar.reconnect": (
        "Google більше не приймає підключення до вашого календаря. Підключіть його знову: "
        "[підключити Google Календар]({url})\n\n"
        "Посилання спрацює один раз протягом {minutes} хв."
    ),
    "calendar.connected": (
        "Ваш Google Календар підключено: **{account}**.\n\n"
        "Щоб відключити його, надішліть /calendar disconnect.\n\n"
        "Щоб підключити ще один акаунт Google (робочий чи особистий), надішліть /calendar add."
    ),
    "calendar.connected_unknown": (
        "Ваш Google Календар підключено.\n\nЩоб відключити його, надішліть /calendar disconnect."
    ),
    "calendar.disconnected": "Готово: Google Календар відключено, мій доступ до нього відкликано.",
    "calendar.not_connected": "Календар не підключено. Надішліть /calendar, щоб підключити.",
    "calendar.private_only": (
        "Календарі — особиста справа: надішліть мені /calendar в особистому чаті."
    ),
    "calendar.unavailable": "Сервіс календаря зараз не відповідає. Спробуйте за хвилину.",
    "calendar.pending": (
        "Акаунт Google чекає на ваше підтвердження: **{account}**.\n\n"
        "Надішліть `/calendar confirm`, щоб підключити його, або `/calendar decline`, "
        "якщо він не ваш."
    ),
    "calendar.confirmed": (
        "✅ Google Календар підключено: **{account}**. Запитайте мене, що у вас у календарі."
    ),
    "calendar.confirmed_unknown": (
        "✅ Google Календар підключено. Запитайте мене, що у вас у календарі."
    ),
    "calendar.nothing_pending": (
        "Жоден акаунт Google не чекає на підтвердження (запит діє недовго). "
        "Надішліть /calendar, щоб отримати нове посилання."
    ),
    "calendar.declined": "Відхилено: цей акаунт Google не підключено, його доступ відкликано.",
    # кнопки (notice: короткий простий текст, що з'являється після натискання)
    "button.unknown": "Ця кнопка більше не працює.",
    "button.refused": "Вибачте, це закритий бот.",
    "button.used": "Уже зроблено.",
    "button.not_yours": "Ця кнопка не для вас.",
    "button.failed": "Вибачте, не вийшло. Спробуйте ще раз.",
    "reminders.cancelled_notice": "Нагадування скасовано.",
    "reminders.cancelled_mark": "✖ Скасовано.",
    "reminders.gone_notice": "Це нагадування вже скасовано.",
    "reminders.gone_mark": "Це нагадування більше не діє.",
    "reminders.snoozed_notice": "Відкладено.",
    "reminders.snoozed_mark": "⏰ Нагадаю знову {when}.",
    "reminders.done_notice": "Готово.",
    "reminders.done_mark": "✅ Готово.",
    "reminders.repeats_stopped_notice": "Готово: більше не повторюю.",
    "reminders.repeats_stopped_mark": "✅ Готово: більше не повторюю.",
    "model.set_notice": "Модель змінено.",
    "model.gone_notice": "Цієї моделі більше немає.",
    "model.gone": "Цієї моделі більше немає. Надішліть /model, щоб побачити доступні.",
    "forget.yes": "Так, забудь мене",
    "forget.no": "Ні, нічого не видаляти",
    "forget.done_notice": "Забуто.",
    "forget.stale_notice": "Це питання вже неактуальне.",
    "forget.stale": "Це питання вже неактуальне, нічого не видалено. Надішліть /forget ще раз.",
    "forget.kept_notice": "Нічого не видалено.",
    "forget.kept": "Нічого не видалено: я й далі пам'ятаю наші розмови.",
    "calendar.add": (
        "Підключіть ще один акаунт Google (робочий чи особистий): [підключити акаунт "
        "Google]({url})\n\nПосилання спрацює один раз протягом {minutes} хв."
    ),
    "calendar.accounts": "Ваші акаунти Google:",
    "calendar.account_line": "• **{account}**",
    "calendar.account_line_reconnect": "• **{account}** ⚠️ потрібно перепідключити",
    "calendar.account_default": " (основний: нові події потрапляють сюди)",
    "calendar.accounts_help": (
        "\n`/calendar default <акаунт>` обирає, куди потрапляють нові події, `/calendar "
        "disconnect <акаунт>` відключає акаунт, `/calendar add` підключає ще один."
    ),
    "calendar.default_button": "Зробити {account} основним",
    "calendar.disconnect_account_button": "Відключити {account}",
    "calendar.reconnect_button": "Перепідключити",
    "calendar.which_account": (
        "Який акаунт Google? Назвіть його адресу або частину адреси: {accounts}."
    ),
    "calendar.disconnected_account": (
        "Готово: **{account}** відключено, мій доступ до нього відкликано."
    ),
    "calendar.default_now": "Нові події тепер потрапляють до **{account}**.",
    "calendar.confirmed_another": (
        "✅ **{account}** теж підключено. Я читаю календарі всіх ваших акаунтів Google; нові "
        "події й далі потрапляють до основного (надішліть /calendar, щоб це змінити)."
    ),
    "calendar.default_notice": "Основний акаунт змінено.",
    "calendar.connect_button": "Підключити Google Календар",
    "calendar.disconnect_button": "Відключити",
    "calendar.disconnected_notice": "Відключено.",
    "calendar.unavailable_notice": "Сервіс календаря не відповідає. Спробуйте за хвилину.",
    "calendar.deleted": "🗑 Видалено: **{summary}**.",
    "calendar.deleted_already": "**{summary}** уже немає у вашому календарі.",
    "calendar.delete_kept": "Залишено: **{summary}**.",
    "calendar.deleted_notice": "Видалено.",
    "calendar.kept_notice": "Залишено.",
    "confirm.yes_notice": "Роблю.",
    "confirm.running": "✅ Ви сказали «так»: роблю.",
    "confirm.no_notice": "Не зроблено.",
    "confirm.dropped": "✖ Не зроблено: нічого не збережено й не видалено.",
    "catalogue.asked": "🔎 Ви запитали про «{name}».",
    "catalogue.notice": "Секунду.",
    "feedback.up_notice": "Дякуємо за відгук!",
    "feedback.down_notice": "Дякуємо, врахуємо.",
    "feedback.ask_comment": (
        "😔 Шкода, що відповідь не допомогла. Що було не так? "
        "Напишіть наступним повідомленням або натисніть «Пропустити»."
    ),
    "feedback.comment_saved": "Дякуємо, коментар збережено.",
    "feedback.skipped": "Гаразд, без коментаря.",
    "feedback.expired": "Цю відповідь більше не можна оцінити.",
    "confirm.expired": "Це питання застаріло: нічого не зроблено. Попросіть знову, якщо треба.",
    # /voice
    "voice.state_on": (
        "Голосові відповіді **увімкнено**: кожна відповідь надходить ще й голосовим "
        "повідомленням. Надішліть /voice off, щоб отримувати лише текст."
    ),
    "voice.state_off": (
        "Голосові відповіді **вимкнено**: я відповідаю текстом. Надішліть /voice on, щоб кожна "
        "відповідь надходила ще й голосом, або попросіть відповісти голосом у самому повідомленні."
    ),
    "voice.on": (
        "Готово: кожна відповідь надійде ще й голосовим. Надішліть /voice off, щоб вимкнути."
    ),
    "voice.off": "Готово: лише текстові відповіді. Надішліть /voice on, щоб знову їх чути.",
    "voice.unknown": "Не зрозумів **{word}**. Надішліть /voice on або /voice off.",
    "voice.no_model": (
        "Модель для озвучення ще не налаштовано, тож відповіді будуть текстом, доки "
        "адміністратор її не додасть."
    ),
    # assistant
    "assistant.apology": (
        "Вибачте, зараз не можу відповісти: мовна модель недоступна. "
        "Спробуйте, будь ласка, за кілька хвилин."
    ),
    "assistant.out_of_steps": (
        "Вибачте, не вдалося завершити: знадобилося більше кроків, ніж мені дозволено на одне "
        "повідомлення. Спробуйте попросити про щось конкретніше."
    ),
    "assistant.turn_failed": (
        "Вибачте, з цим повідомленням щось пішло не так, і я не зміг на нього відповісти. "
        "Спробуйте, будь ласка, ще раз або сформулюйте інакше."
    ),
    "assistant.no_such_assistant": (
        "Вибачте, асистент «{name}» тут недоступний: активного асистента з такою назвою немає."
    ),
    "assistant.not_configured": "Вибачте, мене ще не налаштовано: не задано асистента-секретаря.",
    "assistant.edited": "_(відповідаю на виправлене повідомлення)_",
    "assistant.token_budget_spent": (
        "Вибачте, на сьогодні ваш ліміт мовної моделі вичерпано. "
        "Він оновиться о 00:00 UTC, через {hours} год {minutes} хв; /usage покаже ваші цифри."
    ),
    "assistant.held": "❓ Чекаю на ваше «Так»: {what}",
    "assistant.confirmed_done": "✅ Зроблено: {what}",
    "assistant.remember_proposal": "💡 Запам'ятати це про вас? _{fact}_",
    "assistant.remembered": "✅ Запам'ятав: _{fact}_",
    "assistant.confirmed_failed": "Вибачте, це не вдалося зробити: {error}",
    "assistant.confirmed_gone": (
        "На це питання вже відповіли або воно застаріло: нічого не зроблено."
    ),
    "assistant.status.calendar": "дивлюся ваш календар…",
    "assistant.status.weather": "дізнаюся погоду…",
    "assistant.status.time": "дивлюся час…",
    "assistant.status.reminder": "ставлю нагадування…",
    "assistant.status.sub_assistant": "питаю колегу…",
    "assistant.status.web_search": "шукаю в інтернеті…",
    "assistant.status.read_page": "читаю сторінку…",
    "assistant.status.draw": "малюю картинку…",
    "assistant.status.working": "працюю над цим…",
    "assistant.draw.no_model": (
        "Вибачте, тут я не вмію малювати: не налаштовано модель, яка створює зображення."
    ),
    "assistant.draw.refused": (
        "Вибачте, це я намалювати не можу: сервіс картинок відхилив такий запит. Опишіть щось інше?"
    ),
    "assistant.draw.not_here": (
        "Вибачте, у цьому чаті я не можу надсилати картинки: попросіть мене в Telegram або у "
        "вебчаті."
    ),
    "assistant.draw.failed": (
        "Вибачте, зараз не вдалося намалювати картинку. Спробуйте трохи згодом."
    ),
    # голосові, картинки й документи, яких асистент не може прийняти
    "attachment.voice_quote": "🎤 «{text}»",
    "attachment.document_cut": "📄 {name} довгий: я прочитав перші {chars} символів.",
    "attachment.voice_too_long": (
        "Вибачте, це голосове задовге: я слухаю до {seconds} секунд. "
        "Розділіть його на частини або напишіть текстом, будь ласка."
    ),
    "attachment.no_transcription": (
        "Вибачте, тут я не вмію слухати голосові: не налаштовано модель розпізнавання мовлення. "
        "Напишіть, будь ласка, текстом."
    ),
    "attachment.transcription_failed": (
        "Вибачте, зараз не вдалося розібрати голосове. "
        "Спробуйте ще раз трохи пізніше або напишіть текстом."
    ),
    "attachment.nothing_heard": "Вибачте, я не розчув слів у цьому голосовому.",
    "attachment.no_vision": (
        "Вибачте, тут я не вмію дивитися картинки: не налаштовано модель, яка бачить зображення."
    ),
    "attachment.vision_other_model": (
        "Ваша модель {model} не бачить картинок, а {vision} бачить: "
        "перемкніться командою /model {vision} і надішліть картинку ще раз."
    ),
    "attachment.picture_unreadable": (
        "Вибачте, не вдалося відкрити цю картинку. "
        "Надішліть її, будь ласка, як фото у JPEG або PNG."
    ),
    "attachment.document_unsupported": "Вибачте, такі файли я не читаю. Я читаю {supported}.",
    "attachment.document_unreadable": (
        "Вибачте, не вдалося прочитати файл: схоже, він пошкоджений. Я читаю {supported}."
    ),
    "attachment.document_encrypted": (
        "Вибачте, файл захищено паролем, і я не можу його прочитати. "
        "Надішліть його, будь ласка, без пароля."
    ),
    "attachment.document_empty": (
        "Вибачте, у цьому файлі немає тексту (це скан?). Я читаю текст із {supported}."
    ),
    "attachment.document_too_big": (
        "Вибачте, файл завеликий: я читаю документи до {megabytes} МБ."
    ),
    "attachment.file_expired": (
        "Вибачте, надісланого файлу в мене вже немає: він надто довго чекав. "
        "Надішліть його, будь ласка, ще раз."
    ),
    "attachment.document_too_heavy": (
        "Вибачте, цей файл надто важкий, щоб я його відкрив: розпакований, він набагато "
        "більший за свій розмір. Надішліть його текст або звичайний PDF чи DOCX."
    ),
    "attachment.picture_too_many_pixels": (
        "Вибачте, у цій картинці забагато пікселів. "
        "Надішліть, будь ласка, меншу картинку (звичайне фото підійде)."
    ),
    "attachment.pictures_too_big": (
        "Вибачте, картинок забагато для одного повідомлення: я беру до {megabytes} МБ "
        "картинок за раз. Надішліть, будь ласка, менше."
    ),
    # нагадування перед подією календаря
    "alert.event": "🔔 Через {minutes} хв, о {time}: {summary}",
    # кнопки
    "label.snooze_10m": "⏰ 10 хв",
    "label.snooze_1h": "⏰ 1 год",
    "label.snooze_1d": "⏰ Завтра",
    "label.done": "✅ Готово",
    "label.catalogue_show": "Показати: {name}",
    "label.share_phone": "📱 Поділитися номером телефону",
    "label.feedback_up": "👍",
    "label.feedback_down": "👎",
    "label.feedback_skip": "Пропустити",
    "label.cancel": "✖ Скасувати",
    "label.delete_yes": "🗑 Так, видалити",
    "label.delete_no": "Ні, залишити",
    "label.confirm_yes": "✅ Так, зробити",
    "label.confirm_no": "Ні, не треба",
    # cron_service
    "fire.reminder": "⏰ {text}",
    "fire.urgent": "🚨 Терміново: {text}\n(повторюватиму, доки не натиснете «Готово»)",
    "fire.urgent_repeat": "🚨 Терміново, повтор {repeat} з {of}: {text}",
    "fire.briefing": (
        "Зведення за розкладом, яке налаштував користувач: {text}\n"
        "Відповідай за свіжими даними з інструментів, одним коротким повідомленням. Якщо є "
        "інструмент пошти, додай важливі листи за сьогодні (його пошук) у кількох рядках."
    ),
    "fire.late": "⏰ (із запізненням) {text}\n(мало прийти о {due})",
    "fire.missed_reminder": "Пропущене нагадування (на {due}): {text}",
    "fire.missed_prompt": "Пропущений запит за розкладом (на {due}): {text}",
    # google_calendar_service
    "calendar.ask_owner": (
        "Підключити акаунт Google {account} до вашого асистента?\n"
        "Надішліть /calendar confirm, щоб підключити, або /calendar decline, якщо він не ваш. "
        "Запит діє {minutes} хв."
    ),
    "calendar.unknown_account": "(адреса невідома)",
    # розклад словами (common/features/schedule.py); .few — для 2–4, .many — для інших чисел
    "schedule.days": "неділях,понеділках,вівторках,середах,четвергах,п'ятницях,суботах",
    "schedule.every_weekday": (
        "щонеділі,щопонеділка,щовівторка,щосереди,щочетверга,щоп'ятниці,щосуботи"
    ),
    "schedule.every_other_weekday": (
        "кожної другої неділі,кожного другого понеділка,кожного другого вівторка,"
        "кожної другої середи,кожного другого четверга,кожної другої п'ятниці,"
        "кожної другої суботи"
    ),
    "schedule.months": (
        "січня,лютого,березня,квітня,травня,червня,липня,серпня,вересня,жовтня,листопада,грудня"
    ),
    "schedule.numbers": "два,три,чотири",
    "schedule.ordinal.st": "{n}-го",
    "schedule.ordinal.nd": "{n}-го",
    "schedule.ordinal.rd": "{n}-го",
    "schedule.ordinal.th": "{n}-го",
    "schedule.and": "і",
    "schedule.at": "о {times}",
    "schedule.every_minute": "щохвилини",
    "schedule.every_hour": "щогодини",
    "schedule.every_n_minutes.few": "кожні {n} хвилини",
    "schedule.every_n_minutes.many": "кожні {n} хвилин",
    "schedule.hourly_at": "щогодини о :{minute}",
    "schedule.every_n_hours.few": "кожні {n} години",
    "schedule.every_n_hours.many": "кожні {n} годин",
    "schedule.daily": "щодня {at}",
    "schedule.workdays": "у будні {at}",
    "schedule.weekends": "у вихідні {at}",
    "schedule.on_days": "по {days} {at}",
    "schedule.monthly": "щомісяця {days} числа {at}",
    "schedule.months_skipped": "(місяці без такого числа пропускаються)",
    "schedule.yearly": "щороку {day} {month} {at}",
    "schedule.leap_years_only": "(лише у високосні роки)",
    "schedule.every_other_day": "через день {at}",
    "schedule.every_n_days.few": "раз на {n} дні {at}",
    "schedule.every_n_days.many": "раз на {n} днів {at}",
    "schedule.weekly_on_days": "щотижня по {days} {at}",
    "schedule.every_other_week_on_days": "раз на два тижні по {days} {at}",
    "schedule.every_n_weeks_on_days.few": "раз на {n} тижні по {days} {at}",
    "schedule.every_n_weeks_on_days.many": "раз на {n} тижнів по {days} {at}",
    "schedule.since": "{schedule}, починаючи з {day} {month} {year}",
    "schedule.cron_code": "за розкладом cron {code}",
    "schedule.rule_code": "за правилом повторення {code}",
    # відповіді «так» і «ні»
    "words.yes": "так,підтвердити,підтверджую",
    "words.no": "ні,відхилити,відхиляю",
    "words.move": "перенести,перенеси",
    "words.keep": "залишити,залиш",
    "words.on": "увімк,увімкнути,увімкни",
    "words.off": "вимк,вимкнути,вимкни",
    # a human operator (rest_service and tg_bot): the operator chat's messages and the
    # customer's notices
    "label.hand_back": "↩️ Повернути боту",
    "handoff.requested": "🙋 *{customer}* просить людину.",
    "handoff.summary": "Коротко: {summary}",
    "handoff.recent": "Останні повідомлення:",
    "handoff.how": (
        "Відповідайте на це повідомлення, щоб написати клієнту; коли закінчите, натисніть кнопку."
    ),
    "handoff.customer_said": "💬 *{customer}*: {text}",
    "handoff.customer_file": "(файл)",
    "handoff.no_answer": "На жаль, зараз усі зайняті. Ми зв'яжемося з вами, щойно зможемо.",
    "handoff.expired": (
        "⌛ Ніхто не відповів *{customer}* вчасно: клієнту сказали, що ми зв'яжемося, і "
        "записали заявку."
    ),
    "handoff.returned": "Ви знову спілкуєтеся з асистентом.",
    "handoff.handed_back": "↩️ Повернуто боту: {who}.",
    "handoff.closed": "Ця розмова вже не в оператора.",
    "handoff.notice": "Повернуто боту",
}
