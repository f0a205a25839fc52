"""Alle Texte auf Deutsch (per du): dieselben Schlüssel und `{Felder}` wie in en.py."""

TEXTS: dict[str, str] = {
    # tg_bot
    # das Befehlsmenü (reiner Text, höchstens 256 Zeichen)
    "command.start": "Loslegen oder sehen, was ich kann",
    "command.help": "Was ich kann und wie du fragst",
    "command.model": "KI-Modelle zeigen oder eins wählen: /model NAME",
    "command.reset": "Ein neues Gespräch beginnen",
    "command.timezone": "Zeitzone zeigen oder setzen: /timezone Berlin oder UTC+1",
    "command.forget": "Alles löschen, was ich über dich weiß",
    "command.briefings": "Deine geplanten Briefings; eins abbrechen: /briefings cancel N",
    "command.reminders": "Deine Erinnerungen; eine abbrechen: /reminders cancel N",
    "command.calendar": "Google Kalender verbinden oder trennen: /calendar disconnect",
    "command.memory": "Was ich mir über dich merke, mit einem Löschen-Knopf für jedes",
    "command.tasks": "Deine offenen Aufgaben, mit einem ✓-Knopf für jede",
    "command.usage": "Dein Verbrauch diesen Monat und heute: Nachrichten, KI-Tokens, Werkzeuge",
    "command.voice": "Antworten auch als Sprachnachricht: /voice on oder /voice off",
    "command.link": "Deine Konten in anderen Kanälen verbinden: /link oder /link CODE",
    "command.unlink": "Dieses Telegram-Konto von deinen anderen Konten trennen",
    # Begrüßung und Hilfe
    "start.new": (
        "Hallo, {name}! Ich bin dein persönlicher Sekretär.\n\n"
        "Schreib mir einfach in deinen Worten: Ich sage dir die Uhrzeit und das Wetter überall, "
        "führe deinen Kalender und erinnere dich rechtzeitig an Dinge.\n\n"
        "Mit /help siehst du die Befehle."
    ),
    "start.returning": "Willkommen zurück, {name}! Was kann ich für dich tun?",
    "help.text": (
        "Schreib mir wie einem Menschen, zum Beispiel:\n"
        "• _Wie wird das Wetter morgen in Berlin?_\n"
        "• _Erinnere mich um 18 Uhr, Anna anzurufen_\n"
        "• _Was steht diese Woche in meinem Kalender?_\n\n"
        "In einer Gruppe erwähne mich oder antworte auf meine Nachricht.\n\n"
        "**Befehle**\n{commands}"
    ),
    "help.command": "/{command} — {description}",
    # Zugang, Fehler, was der Bot nicht lesen kann
    "pairing.ask": (
        "Das ist ein privater Assistent. Bitte den Besitzer, den Code {code} freizugeben."
    ),
    "pairing.refused": "Entschuldigung, der Besitzer hat dich nicht freigegeben.",
    "pairing.owner_notice": "{name} ({telegram_id}) möchte den Bot nutzen: Code {code}.",
    "pairing.approved": "Freigegeben: {code}.",
    "pairing.refused_by_owner": "Abgelehnt: {code}.",
    "group.not_enabled": "Der Bot ist in dieser Gruppe nicht aktiviert.",
    "label.pairing_approve": "✅ Freigeben",
    "label.pairing_refuse": "🚫 Ablehnen",
    "refusal.not_allowed": (
        "Entschuldigung, das ist ein privater Assistent, und ich darf nicht mit dir sprechen. "
        "Bitte seinen Besitzer, deine Telegram-ID ({telegram_id}) hinzuzufügen."
    ),
    "error.generic": (
        "Entschuldigung, bei mir ist etwas schiefgegangen. Bitte versuche es in einer Minute "
        "noch einmal."
    ),
    "error.redis_full": (
        "Entschuldigung, mir fehlt gerade der Platz. Ich antworte, sobald ich kann."
    ),
    "unknown_command": (
        "Den Befehl /{command} kenne ich nicht. Mit /help siehst du, was ich kann."
    ),
    # Limits und /usage
    "limit.flood": (
        "Du schreibst schneller, als ich lesen kann; bitte warte {seconds} Sekunden "
        "und schick deine Frage noch einmal."
    ),
    "usage.text": (
        "**Diesen Monat** (seit {month_since}, {zone}):\n"
        "• Nachrichten an mich: {month_messages}\n"
        "• KI-Tokens: {month_tokens}\n"
        "• Werkzeugaufrufe: {month_tools}\n"
        "• Gezeichnete Bilder: {month_images}\n\n"
        "**Heute** (UTC; die Zählung beginnt neu in {hours} Std. {minutes} Min.):\n"
        "• Verbrauchte KI-Tokens: {tokens}{allowance}\n"
        "• Nachrichten an mich: {messages}\n"
        "• Aktive Erinnerungen: {reminders}"
    ),
    "usage.budget": " von {budget} ({left} übrig)",
    "usage.no_budget": " (kein Tageslimit)",
    # /memory: die Fakten über den Nutzer
    "memory.list": (
        "**Was ich mir über dich merke** ({count}):\n{facts}\n\n"
        "Tippe auf einen Knopf, um einen Fakt zu löschen; /memory edit 2 … gibt Fakt 2 neue "
        "Worte; /memory clear löscht alle Fakten."
    ),
    "memory.item": "{n}. {fact}",
    "memory.delete": "🗑 {n} löschen",
    "memory.empty": (
        "Ich weiß noch nichts über dich. Erzähl mir etwas Bleibendes über dich "
        "(„meine Frau heißt Anna“, „ich esse kein Fleisch“), und ich merke es mir."
    ),
    "memory.deleted": "Gelöscht: _{fact}_",
    "memory.deleted_notice": "Gelöscht.",
    "memory.stale_notice": "Das ist schon weg.",
    "memory.private_only": (
        "Was ich mir über dich merke, ist privat: schick mir /memory in einem privaten Chat."
    ),
    "memory.usage": (
        "Um einen Fakt zu ändern, sende /memory edit, seine Nummer und die neuen Worte („/memory "
        "edit 2 Ich wohne in Berlin“); /memory clear löscht alle Fakten; /memory zeigt sie."
    ),
    "memory.too_long": "Ein Fakt hat höchstens {max} Zeichen: sag es kürzer.",
    "memory.no_such": "Es gibt keinen Fakt Nummer {n}: /memory zeigt die Liste.",
    "memory.duplicate": "Das merke ich mir schon als anderen Fakt.",
    "memory.edited": "Geändert {n}: _{fact}_",
    "memory.clear_confirm": "Alle {count} Fakten über dich löschen? Unsere Gespräche bleiben.",
    "memory.clear_yes": "Ja, alle löschen",
    "memory.clear_no": "Nein, behalten",
    "memory.cleared": "Erledigt: Ich merke mir jetzt keine Fakten mehr über dich.",
    "memory.clear_kept": "Nichts gelöscht: Ich weiß noch alles, was du mir erzählt hast.",
    "memory.clear_stale": (
        "Diese Frage ist abgelaufen, nichts wurde gelöscht. Sende /memory clear, um erneut zu "
        "fragen."
    ),
    # /tasks: die Aufgabenliste
    "tasks.list": (
        "**Deine offenen Aufgaben** ({count}):\n{tasks}\n\nTippe auf ✓, wenn eine erledigt ist."
    ),
    "tasks.item": "{n}. {mark}{title}{due}",
    "tasks.high": "❗ ",
    "tasks.low": "↓ ",
    "tasks.due": " — fällig {deadline}",
    "tasks.complete": "✓ {n}",
    "tasks.empty": (
        "Du hast keine offenen Aufgaben. Nenn mir eine („neue Aufgabe: Bericht bis Freitag "
        "schicken“), und ich behalte sie."
    ),
    "tasks.completed": "Erledigt: _{title}_",
    "tasks.completed_notice": "Erledigt.",
    "tasks.stale_notice": "Die ist schon erledigt oder weg.",
    "tasks.private_only": "Deine Aufgaben sind privat: schick mir /tasks in einem privaten Chat.",
    # /link und /unlink: eine Person in allen Kanälen
    "tasks.google_link": (
        "Damit deine Aufgaben mit Google Tasks übereinstimmen, erlaube mir den Zugriff: "
        "[Google Tasks erlauben]({url})\n\n"
        "Der Link gilt einmal, {minutes} Minuten lang. Nach deiner Bestätigung wird synchronisiert."
    ),
    "tasks.google_button": "Google Tasks erlauben",
    "tasks.google_on": (
        "Die Synchronisierung mit Google Tasks ist an: was du hier hinzufügst, erledigst oder "
        "löschst, erscheint dort, und umgekehrt. /tasks google off schaltet sie aus."
    ),
    "tasks.google_off": (
        "Die Synchronisierung mit Google Tasks ist aus. Beide Listen bleiben, wie sie sind."
    ),
    "tasks.google_unreachable": (
        "Google Tasks ist gerade nicht erreichbar: deine Aufgaben sind hier gespeichert und "
        "kommen bei der nächsten Synchronisierung zu Google."
    ),
    "tasks.google_unavailable": "Entschuldige, Google Tasks ist gerade nicht erreichbar. "
    "Versuch es später noch einmal.",
    "link.code": (
        "Dein Code: `{code}`\n\n"
        "Schick `/link {code}` von deinem anderen Konto — WhatsApp, Slack, E-Mail oder dem "
        "Web-Chat — innerhalb von {minutes} Minuten. Dann bist du dort und hier eine Person: "
        "Gedächtnis, Erinnerungen, Kalender und Einstellungen."
    ),
    "link.done": "Verbunden. Du bist jetzt eine Person in: {channels}.",
    "link.bad_code": (
        "Das sieht nicht nach einem Code von mir aus. Schick /link in deinem anderen Konto, um "
        "einen zu bekommen, und dann `/link CODE` hier."
    ),
    "link.unknown_code": (
        "Diesen Code kenne ich nicht, oder er ist benutzt oder abgelaufen. Schick /link in "
        "deinem anderen Konto für einen neuen."
    ),
    "link.second_telegram": (
        "Mit jenem Konto ist schon ein anderes Telegram-Konto verbunden. Trenne es zuerst "
        "(/unlink dort)."
    ),
    "link.private_only": "Konten verbinden geht in einem privaten Chat: schick mir dort /link.",
    "unlink.done": (
        "Dieses Telegram-Konto steht wieder für sich. Deine anderen Konten ({channels}) behalten, "
        "was du hattest."
    ),
    "unlink.alone": "Dieses Telegram-Konto ist mit keinem anderen verbunden.",
    "link.code_from": (
        "Dein Code: `{code}`\n\n"
        "Schick `/link {code}` von deinem anderen Konto — Telegram, WhatsApp, Slack, E-Mail "
        "oder dem Web-Chat — innerhalb von {minutes} Minuten. Dann bist du dort und hier eine "
        "Person: Gedächtnis, Erinnerungen, Kalender und Einstellungen."
    ),
    "link.second_account": (
        "Diese Person hat schon ein anderes {channel}-Konto verbunden. Trenne das zuerst "
        "(/unlink dort)."
    ),
    "unlink.done_in": (
        "Dieses {channel}-Konto steht wieder für sich. Deine anderen Konten ({channels}) "
        "behalten, was du hattest."
    ),
    "unlink.alone_in": "Dieses {channel}-Konto ist mit keinem anderen verbunden.",
    "channel.email": "E-Mail",
    "channel.web": "der Web-Chat",
    "channel.api": "die API",
    "usage.private_only": (
        "Dein Verbrauch geht nur dich an: schick mir /usage in einem privaten Chat."
    ),
    "group.empty_mention": (
        "Ja? Schreib deine Frage zusammen mit der Erwähnung oder antworte mir."
    ),
    "nontext.video": (
        "Videos kann ich nicht ansehen — schick mir stattdessen Text, eine Sprachnachricht, "
        "ein Bild oder eine Datei."
    ),
    "nontext.sticker": (
        "Schöner Sticker! Bitte schreib es in Worten oder schick eine Sprachnachricht."
    ),
    "nontext.other": (
        "Diese Art Nachricht kann ich nicht lesen. Schick Text, eine Sprachnachricht, ein Bild "
        "oder eine Datei."
    ),
    # Sprachnachrichten, Bilder, Dokumente
    "media.too_long.voice": (
        "Diese Sprachnachricht ist mir zu lang: Ich höre bis zu {limit} zu. "
        "Bitte schick eine kürzere oder tippe es."
    ),
    "media.too_long.audio": (
        "Diese Aufnahme ist mir zu lang: Ich höre bis zu {limit} zu. Bitte schick eine kürzere."
    ),
    "media.too_big": "Diese Datei ist mir zu groß: Ich nehme Dateien bis {limit}.",
    "media.unreadable": "Ich konnte die Datei nicht öffnen. Schickst du sie noch einmal?",
    "media.too_many_pixels": "Dieses Bild hat mir zu viele Pixel. Bitte schick ein kleineres.",
    "media.over_budget": (
        "Bei mir warten schon {limit} an Dateien von dir. Bitte warte auf meine Antwort "
        "und schick dann den Rest."
    ),
    "media.storage_full": (
        "Entschuldigung, ich kann gerade keine Dateien annehmen: mein Speicher ist voll. "
        "Bitte schick sie in ein paar Minuten noch einmal."
    ),
    "media.download_failed": (
        "Entschuldigung, ich konnte deine Datei nicht abholen. "
        "Bitte schick sie in einer Minute noch einmal."
    ),
    "media.minutes": "{n} Min.",
    "media.minutes_seconds": "{m} Min. {s} Sek.",
    "media.seconds": "{n} Sek.",
    # /model
    "model.current": (
        "Du sprichst mit **{model}**.\n\n{models}\n\nEin anderes wählst du mit /model NAME."
    ),
    "model.default": (
        "Du sprichst mit dem Standardmodell.\n\n{models}\n\nEins wählst du mit /model NAME."
    ),
    "model.list": "Verfügbare Modelle:\n{items}",
    "model.item": "• **{name}** — {display}",
    "model.item_default": "• **{name}** — {display} (Standard)",
    "model.set": "Erledigt: Ab jetzt antworte ich dir mit **{model}**.",
    "model.unknown": "Das Modell **{name}** kenne ich nicht.\n\n{models}",
    "model.none": "Es sind noch keine KI-Modelle eingerichtet. Bitte frag den Administrator.",
    # /reset
    "reset.done": "Neuanfang: Unser bisheriges Gespräch habe ich beiseitegelegt. Was als Nächstes?",
    # /timezone
    "timezone.current": "Deine Zeitzone ist **{zone}** ({offset}); dort ist es jetzt {time}.",
    "timezone.unset": (
        "Du hast keine Zeitzone gesetzt, also nehme ich **{zone}**. "
        "Setz deine so: /timezone Europe/Berlin"
    ),
    "timezone.set": "Deine Zeitzone ist jetzt **{zone}** ({offset}); dort ist es jetzt {time}.",
    "timezone.invalid": (
        "Die Zeitzone **{zone}** kenne ich nicht. Schick deine Stadt (/timezone Berlin), "
        "einen UTC-Versatz (/timezone UTC+1) oder einen Namen wie America/New\\_York — "
        "oder teile deinen Standort mit mir."
    ),
    "timezone.found_place": "Über den Ort gefunden: {place}.",
    "timezone.candidate": "• {place} — /timezone {zone}",
    "timezone.ambiguous": (
        "**{text}** können mehrere Orte mit verschiedenen Zeitzonen sein:\n{places}\n\n"
        "Schick den, den du meinst."
    ),
    "timezone.offset_unsupported": (
        "Keine Zeitzone hat das ganze Jahr über {offset}, damit kann ich deine Uhr nicht "
        "richtig führen. Schick lieber deine Stadt, zum Beispiel /timezone St. John's."
    ),
    "timezone.lookup_down": (
        "Ich kann gerade keine Orte nachschlagen. Schick einen Zonennamen "
        "(/timezone Europe/Berlin) oder einen UTC-Versatz (/timezone UTC+1), "
        "oder versuche es in einer Minute noch einmal."
    ),
    "timezone.location_failed": (
        "Ich konnte die Zeitzone dieses Ortes nicht bestimmen. "
        "Schick stattdessen /timezone mit deiner Stadt."
    ),
    "timezone.reminder_item": "• {when} — {text}",
    "timezone.move_offer": (
        "{count} deiner Erinnerungen wurden in **{old}** gestellt, weil du keine Zeitzone "
        "gesetzt hattest:\n{reminders}\n\n"
        "Schick /timezone move, damit sie zur selben Uhrzeit in {zone} kommen, "
        "oder /timezone keep, um sie so zu lassen."
    ),
    "timezone.moved": "{count} nach {zone} verschoben, gleiche Uhrzeit:\n{reminders}",
    "timezone.move_passed": (
        "Nicht verschoben (diese Zeit ist in {zone} schon vorbei):\n{reminders}"
    ),
    "timezone.kept": "Erledigt: {count} so gelassen, wie sie waren.",
    "timezone.nothing_to_move": "Es gibt keine Erinnerungen zum Verschieben.",
    "timezone.move_needs_zone": "Setz zuerst deine Zeitzone, zum Beispiel /timezone Berlin.",
    # /forget
    "forget.confirm": (
        "Damit lösche ich alles, was ich über dich speichere: deine Einstellungen, unsere "
        "Gespräche, deine Erinnerungen und die Verbindung zu deinem Kalender. Das lässt sich "
        "nicht rückgängig machen.\n\n"
        "Wenn du sicher bist, schick innerhalb von {minutes} Minuten `/forget confirm`."
    ),
    "forget.done": ("Erledigt: Ich habe alles über dich vergessen. Mit /start fangen wir neu an."),
    # /reminders
    "reminders.none": (
        "Du hast keine anstehenden Erinnerungen. Frag mich einfach, z. B. "
        "_erinnere mich um 18 Uhr, Anna anzurufen_."
    ),
    "reminders.list": (
        "**Deine Erinnerungen** (Zeit in {zone}):\n{items}\n\n"
        "Zum Abbrechen schick `/reminders cancel NUMMER` oder sag mir einfach, welche."
    ),
    "reminders.item": "{number}. {when} — {text}",
    "reminders.urgent_text": (
        "🚨 {text} (dringend: alle {minutes} Min. bis „Erledigt“, höchstens {repeats}-mal)"
    ),
    "reminders.item_repeating": "{number}. {when} — {text} ({rule})",
    "reminders.weekdays": "Mo,Di,Mi,Do,Fr,Sa,So",
    "reminders.briefings": "Geplante Briefings: {count}, siehe /briefings.",
    "reminders.cancelled": "Erinnerung abgebrochen: {text}",
    "reminders.no_such": (
        "Es gibt keine Erinnerung Nummer {number}. Mit /reminders siehst du die Liste."
    ),
    # /briefings
    "briefings.none": (
        "Du hast keine geplanten Briefings. Frag mich einfach, z. B. _schick mir werktags um 8 "
        "meine Termine und das Wetter in Berlin_."
    ),
    "briefings.list": (
        "**Deine Briefings** (Zeit in {zone}):\n{items}\n\n"
        "Zum Abbrechen tippe auf den Knopf oder schick `/briefings cancel NUMMER`; "
        "zum Ändern sag es mir einfach."
    ),
    "briefings.cancelled": "Briefing abgebrochen: {text}",
    "briefings.no_such": (
        "Es gibt kein Briefing Nummer {number}. Mit /briefings siehst du die Liste."
    ),
    "briefings.cancelled_notice": "Briefing abgebrochen.",
    "briefings.gone_notice": "Dieses Briefing war schon abgebrochen.",
    # /calendar
    "calendar.connect": (
        "Verbinde deinen Google Kalender, dann sage ich dir, was ansteht, und trage Termine ein: "
        "[Google Kalender verbinden]({url})\n\n"
        "Der Link funktioniert einmal, {minutes} Minuten lang."
    ),
    "calendar.reconnect": (
        "Google akzeptiert die Verbindung zu deinem Kalender nicht mehr. Verbinde ihn neu: "
        "[Google Kalender neu verbinden]({url})\n\n"
        "Der Link funktioniert einmal, {minutes} Minuten lang."
    ),
    "calendar.connected": (
        "Dein Google Kalender ist als **{account}** verbunden.\n\n"
        "Zum Trennen schick /calendar disconnect.\n\n"
        "Um ein weiteres Google-Konto (beruflich oder privat) zu verbinden, schick /calendar add."
    ),
    "calendar.connected_unknown": (
        "Dein Google Kalender ist verbunden.\n\nZum Trennen schick /calendar disconnect."
    ),
    "calendar.disconnected": (
        "Erledigt: Dein Google Kalender ist getrennt und mein Zugriff widerrufen."
    ),
    "calendar.not_connected": (
        "Dein Google Kalender ist nicht verbunden. Mit /calendar verbindest du ihn."
    ),
    "calendar.private_only": "Kalender sind privat: schick mir /calendar in einem privaten Chat.",
    "calendar.unavailable": (
        "Der Kalenderdienst antwortet nicht. Versuche es in einer Minute noch einmal."
    ),
    "calendar.pending": (
        "Ein Google-Konto wartet auf deine Bestätigung: **{account}**.\n\n"
        "Schick `/calendar confirm`, um es zu verbinden, oder `/calendar decline`, "
        "wenn es nicht deins ist."
    ),
    "calendar.confirmed": (
        "✅ Google Kalender als **{account}** verbunden. Frag mich, was in deinem Kalender steht."
    ),
    "calendar.confirmed_unknown": (
        "✅ Google Kalender verbunden. Frag mich, was in deinem Kalender steht."
    ),
    "calendar.nothing_pending": (
        "Kein Google-Konto wartet auf deine Bestätigung (eine Anfrage läuft nach einer Weile ab). "
        "Schick /calendar für einen neuen Link."
    ),
    "calendar.declined": (
        "Abgelehnt: Dieses Google-Konto ist nicht verbunden, sein Zugriff ist widerrufen."
    ),
    # Knöpfe (ein notice ist der kurze reine Text, der beim Tippen erscheint)
    "button.unknown": "Dieser Knopf funktioniert nicht mehr.",
    "button.refused": "Entschuldigung, dieser Bot ist privat.",
    "button.used": "Schon erledigt.",
    "button.not_yours": "Dieser Knopf ist für jemand anderen.",
    "button.failed": "Entschuldigung, das hat nicht geklappt. Bitte versuche es noch einmal.",
    "reminders.cancelled_notice": "Erinnerung abgebrochen.",
    "reminders.cancelled_mark": "✖ Abgebrochen.",
    "reminders.gone_notice": "Diese Erinnerung war schon abgebrochen.",
    "reminders.gone_mark": "Diese Erinnerung ist nicht mehr aktiv.",
    "reminders.snoozed_notice": "Verschoben.",
    "reminders.snoozed_mark": "⏰ Ich erinnere dich wieder {when}.",
    "reminders.done_notice": "Erledigt.",
    "reminders.done_mark": "✅ Erledigt.",
    "reminders.repeats_stopped_notice": "Erledigt: keine Wiederholungen mehr.",
    "reminders.repeats_stopped_mark": "✅ Erledigt: keine Wiederholungen mehr.",
    "model.set_notice": "Modell gewechselt.",
    "model.gone_notice": "Dieses Modell gibt es nicht mehr.",
    "model.gone": "Dieses Modell gibt es nicht mehr. Mit /model siehst du die aktuellen.",
    "forget.yes": "Ja, vergiss mich",
    "forget.no": "Nein, alles behalten",
    "forget.done_notice": "Vergessen.",
    "forget.stale_notice": "Diese Frage ist abgelaufen.",
    "forget.stale": (
        "Diese Frage ist abgelaufen, es wurde nichts gelöscht. Schick /forget, um neu zu fragen."
    ),
    "forget.kept_notice": "Nichts gelöscht.",
    "forget.kept": "Es wurde nichts gelöscht: Ich erinnere mich weiter an unsere Gespräche.",
    "calendar.add": (
        "Verbinde ein weiteres Google-Konto (beruflich oder privat): [Google-Konto "
        "verbinden]({url})\n\nDer Link funktioniert einmal, {minutes} Minuten lang."
    ),
    "calendar.accounts": "Deine Google-Konten:",
    "calendar.account_line": "• **{account}**",
    "calendar.account_line_reconnect": "• **{account}** ⚠️ muss neu verbunden werden",
    "calendar.account_default": " (Standard: neue Termine landen hier)",
    "calendar.accounts_help": (
        "\n`/calendar default <Konto>` wählt, wo neue Termine landen, `/calendar "
        "disconnect <Konto>` trennt eines, `/calendar add` verbindet ein weiteres."
    ),
    "calendar.default_button": "{account} als Standard",
    "calendar.disconnect_account_button": "{account} trennen",
    "calendar.reconnect_button": "Neu verbinden",
    "calendar.which_account": (
        "Welches Google-Konto? Nenne seine Adresse oder einen Teil davon: {accounts}."
    ),
    "calendar.disconnected_account": (
        "Erledigt: **{account}** ist getrennt und mein Zugriff darauf widerrufen."
    ),
    "calendar.default_now": "Neue Termine landen jetzt in **{account}**.",
    "calendar.confirmed_another": (
        "✅ **{account}** ist auch verbunden. Ich lese die Kalender aller deiner Google-Konten; "
        "neue Termine landen weiter in deinem Standardkonto (schick /calendar, um das zu "
        "ändern)."
    ),
    "calendar.default_notice": "Standard geändert.",
    "calendar.connect_button": "Google Kalender verbinden",
    "calendar.disconnect_button": "Trennen",
    "calendar.disconnected_notice": "Getrennt.",
    "calendar.unavailable_notice": (
        "Der Kalenderdienst antwortet nicht. Versuche es in einer Minute noch einmal."
    ),
    "calendar.deleted": "🗑 Gelöscht: **{summary}**.",
    "calendar.deleted_already": "**{summary}** war schon nicht mehr in deinem Kalender.",
    "calendar.delete_kept": "Behalten: **{summary}**.",
    "calendar.deleted_notice": "Gelöscht.",
    "calendar.kept_notice": "Behalten.",
    "confirm.yes_notice": "Wird gemacht.",
    "confirm.running": "✅ Du hast Ja gesagt: Ich mache es jetzt.",
    "confirm.no_notice": "Nicht gemacht.",
    "confirm.dropped": "✖ Nicht gemacht: Es wurde nichts gespeichert oder entfernt.",
    "catalogue.asked": "🔎 Du hast nach „{name}“ gefragt.",
    "catalogue.notice": "Einen Moment.",
    "feedback.up_notice": "Danke für die Rückmeldung!",
    "feedback.down_notice": "Danke, notiert.",
    "feedback.ask_comment": (
        "😔 Schade, dass diese Antwort nicht gepasst hat. Was war falsch? "
        "Schreib es in deiner nächsten Nachricht oder tippe auf Überspringen."
    ),
    "feedback.comment_saved": "Danke, dein Kommentar ist gespeichert.",
    "feedback.skipped": "OK, ohne Kommentar.",
    "feedback.expired": "Diese Antwort kann nicht mehr bewertet werden.",
    "confirm.expired": (
        "Diese Frage ist abgelaufen: Es wurde nichts gemacht. Frag mich noch einmal, "
        "wenn du es willst."
    ),
    # /voice
    "voice.state_on": (
        "Sprachantworten sind **an**: Jede Antwort kommt auch als Sprachnachricht. "
        "Schick /voice off für nur Text."
    ),
    "voice.state_off": (
        "Sprachantworten sind **aus**: Ich antworte mit Text. Schick /voice on, um jede Antwort "
        "auch als Sprachnachricht zu bekommen, oder bitte in deiner Nachricht um eine "
        "gesprochene Antwort."
    ),
    "voice.on": (
        "Erledigt: Jede Antwort kommt jetzt auch als Sprachnachricht. "
        "Schick /voice off, um das zu beenden."
    ),
    "voice.off": ("Erledigt: nur noch Textantworten. Schick /voice on, um sie wieder zu hören."),
    "voice.unknown": "**{word}** habe ich nicht verstanden. Schick /voice on oder /voice off.",
    "voice.no_model": (
        "Es ist noch kein Sprachmodell eingerichtet, daher bleiben die Antworten Text, "
        "bis der Administrator eins hinzufügt."
    ),
    # assistant
    "assistant.apology": (
        "Entschuldigung, ich kann gerade nicht antworten: mein Sprachmodell ist nicht "
        "erreichbar. Bitte versuche es in ein paar Minuten noch einmal."
    ),
    "assistant.out_of_steps": (
        "Entschuldigung, das konnte ich nicht abschließen: es hätte mehr Schritte gebraucht, "
        "als ich pro Nachricht machen darf. Magst du es kleiner oder genauer fragen?"
    ),
    "assistant.turn_failed": (
        "Entschuldigung, bei dieser Nachricht ist etwas schiefgegangen, ich konnte nicht "
        "antworten. Bitte versuche es noch einmal oder formuliere es anders."
    ),
    "assistant.no_such_assistant": (
        "Entschuldigung, der Assistent „{name}“ ist hier nicht verfügbar: es gibt keinen aktiven "
        "Assistenten mit diesem Namen."
    ),
    "assistant.not_configured": (
        "Entschuldigung, ich bin noch nicht eingerichtet: es ist kein Sekretariats-Assistent "
        "konfiguriert."
    ),
    "assistant.edited": "_(Antwort auf deine bearbeitete Nachricht)_",
    "assistant.token_budget_spent": (
        "Entschuldigung, dein heutiges Kontingent für mein Sprachmodell ist aufgebraucht. "
        "Es wird um 00:00 UTC zurückgesetzt, in {hours} Std. {minutes} Min.; /usage zeigt "
        "deine Zahlen."
    ),
    "assistant.held": "❓ Wartet auf dein Ja: {what}",
    "assistant.confirmed_done": "✅ Erledigt: {what}",
    "assistant.remember_proposal": "💡 Soll ich mir das über dich merken? _{fact}_",
    "assistant.remembered": "✅ Gemerkt: _{fact}_",
    "assistant.confirmed_failed": "Entschuldigung, das ging nicht: {error}",
    "assistant.confirmed_gone": (
        "Diese Frage ist schon beantwortet oder abgelaufen: nichts wurde getan."
    ),
    "assistant.status.calendar": "sehe in deinem Kalender nach…",
    "assistant.status.weather": "schaue nach dem Wetter…",
    "assistant.status.time": "sehe nach der Uhrzeit…",
    "assistant.status.reminder": "lege die Erinnerung an…",
    "assistant.status.sub_assistant": "frage einen Kollegen…",
    "assistant.status.web_search": "suche im Web…",
    "assistant.status.read_page": "lese die Seite…",
    "assistant.status.draw": "zeichne das Bild…",
    "assistant.status.working": "arbeite daran…",
    "assistant.draw.no_model": (
        "Entschuldigung, hier kann ich keine Bilder zeichnen: Es ist kein Modell eingerichtet, "
        "das Bilder erstellt."
    ),
    "assistant.draw.refused": (
        "Entschuldigung, das kann ich nicht zeichnen: Der Bilddienst hat diese Anfrage "
        "abgelehnt. Möchtest du etwas anderes beschreiben?"
    ),
    "assistant.draw.not_here": (
        "Entschuldigung, in diesem Chat kann ich keine Bilder senden: Frag mich in Telegram "
        "oder im Web-Chat."
    ),
    "assistant.draw.failed": (
        "Entschuldigung, das Bild ist gerade nicht gelungen. Bitte versuche es gleich noch einmal."
    ),
    # Sprachnachrichten, Bilder und Dokumente, die der Assistent nicht annehmen kann
    "attachment.voice_quote": "🎤 «{text}»",
    "attachment.document_cut": "📄 {name} ist lang: Ich habe die ersten {chars} Zeichen gelesen.",
    "attachment.voice_too_long": (
        "Entschuldigung, diese Sprachnachricht ist mir zu lang: Ich höre bis zu {seconds} "
        "Sekunden zu. Kannst du sie aufteilen oder tippen?"
    ),
    "attachment.no_transcription": (
        "Entschuldigung, hier kann ich keine Sprachnachrichten anhören: Es ist kein Modell zur "
        "Spracherkennung eingerichtet. Bitte tippe deine Nachricht."
    ),
    "attachment.transcription_failed": (
        "Entschuldigung, ich konnte deine Sprachnachricht gerade nicht verstehen. "
        "Bitte versuche es gleich noch einmal oder tippe sie."
    ),
    "attachment.nothing_heard": (
        "Entschuldigung, ich konnte in dieser Sprachnachricht keine Worte hören."
    ),
    "attachment.no_vision": (
        "Entschuldigung, hier kann ich keine Bilder ansehen: Es ist kein Modell eingerichtet, "
        "das Bilder sieht."
    ),
    "attachment.vision_other_model": (
        "Dein Modell {model} sieht keine Bilder, {vision} aber schon: "
        "wechsle mit /model {vision} und schick das Bild noch einmal."
    ),
    "attachment.picture_unreadable": (
        "Entschuldigung, ich konnte das Bild nicht öffnen. Bitte schick es als JPEG- oder PNG-Foto."
    ),
    "attachment.document_unsupported": (
        "Entschuldigung, diese Art Datei kann ich nicht lesen. Ich lese {supported}."
    ),
    "attachment.document_unreadable": (
        "Entschuldigung, ich konnte die Datei nicht lesen: Sie scheint beschädigt. "
        "Ich lese {supported}."
    ),
    "attachment.document_encrypted": (
        "Entschuldigung, diese Datei ist mit einem Passwort geschützt, daher kann ich sie nicht "
        "lesen. Bitte schick sie ohne Passwort."
    ),
    "attachment.document_empty": (
        "Entschuldigung, ich habe in dieser Datei keinen Text gefunden (ist es ein Scan?). "
        "Ich lese den Text von {supported}."
    ),
    "attachment.document_too_big": (
        "Entschuldigung, diese Datei ist mir zu groß: Ich lese Dokumente bis {megabytes} MB."
    ),
    "attachment.file_expired": (
        "Entschuldigung, ich habe die Datei, die du geschickt hast, nicht mehr: "
        "Sie hat zu lange gewartet. Bitte schick sie noch einmal."
    ),
    "attachment.document_too_heavy": (
        "Entschuldigung, diese Datei kann ich nicht öffnen: Entpackt ist sie weit größer als "
        "ihre Dateigröße. Kannst du ihren Text schicken oder ein einfaches PDF oder DOCX?"
    ),
    "attachment.picture_too_many_pixels": (
        "Entschuldigung, dieses Bild hat mir zu viele Pixel. "
        "Bitte schick ein kleineres (ein normales Foto geht)."
    ),
    "attachment.pictures_too_big": (
        "Entschuldigung, das sind zu viele Bilder für eine Nachricht: Ich nehme bis zu "
        "{megabytes} MB Bilder auf einmal. Bitte schick weniger."
    ),
    # Hinweis vor einem Kalendertermin
    "alert.event": "🔔 In {minutes} Min., um {time}: {summary}",
    # Knöpfe
    "label.snooze_10m": "⏰ 10 Min.",
    "label.snooze_1h": "⏰ 1 Std.",
    "label.snooze_1d": "⏰ Morgen",
    "label.done": "✅ Erledigt",
    "label.catalogue_show": "Zeigen: {name}",
    "label.share_phone": "📱 Meine Telefonnummer teilen",
    "label.feedback_up": "👍",
    "label.feedback_down": "👎",
    "label.feedback_skip": "Überspringen",
    "label.cancel": "✖ Abbrechen",
    "label.delete_yes": "🗑 Ja, löschen",
    "label.delete_no": "Nein, behalten",
    "label.confirm_yes": "✅ Ja, ausführen",
    "label.confirm_no": "Nein, lieber nicht",
    # cron_service
    "fire.reminder": "⏰ {text}",
    "fire.urgent": "🚨 Dringend: {text}\n(ich wiederhole es, bis du auf Erledigt tippst)",
    "fire.urgent_repeat": "🚨 Dringend, Wiederholung {repeat} von {of}: {text}",
    "fire.briefing": (
        "Geplantes Briefing, vom Nutzer eingerichtet: {text}\n"
        "Antworte mit frischen Daten aus deinen Werkzeugen, in einer kurzen Nachricht. Mit "
        "einem Mail-Werkzeug füge die wichtige Post von heute (seine Suche) in wenigen Zeilen an."
    ),
    "fire.late": "⏰ (verspätet) {text}\n(fällig war es um {due})",
    "fire.missed_reminder": "Verpasste Erinnerung (fällig {due}): {text}",
    "fire.missed_prompt": "Verpasste geplante Anfrage (fällig {due}): {text}",
    # google_calendar_service
    "calendar.ask_owner": (
        "Das Google-Konto {account} mit deinem Assistenten verbinden?\n"
        "Schick /calendar confirm, um es zu verbinden, oder /calendar decline, wenn es nicht "
        "deins ist. Die Anfrage läuft in {minutes} Min. ab."
    ),
    "calendar.unknown_account": "(Adresse unbekannt)",
    # ein Zeitplan in Worten (common/features/schedule.py); .few / .many: eine Form im Deutschen
    "schedule.days": "sonntags,montags,dienstags,mittwochs,donnerstags,freitags,samstags",
    "schedule.every_weekday": (
        "jeden Sonntag,jeden Montag,jeden Dienstag,jeden Mittwoch,jeden Donnerstag,"
        "jeden Freitag,jeden Samstag"
    ),
    "schedule.every_other_weekday": (
        "jeden zweiten Sonntag,jeden zweiten Montag,jeden zweiten Dienstag,"
        "jeden zweiten Mittwoch,jeden zweiten Donnerstag,jeden zweiten Freitag,"
        "jeden zweiten Samstag"
    ),
    "schedule.months": (
        "Januar,Februar,März,April,Mai,Juni,Juli,August,September,Oktober,November,Dezember"
    ),
    "schedule.numbers": "zwei,drei,vier",
    "schedule.ordinal.st": "{n}.",
    "schedule.ordinal.nd": "{n}.",
    "schedule.ordinal.rd": "{n}.",
    "schedule.ordinal.th": "{n}.",
    "schedule.and": "und",
    "schedule.at": "um {times}",
    "schedule.every_minute": "jede Minute",
    "schedule.every_hour": "jede Stunde",
    "schedule.every_n_minutes.few": "alle {n} Minuten",
    "schedule.every_n_minutes.many": "alle {n} Minuten",
    "schedule.hourly_at": "jede Stunde um :{minute}",
    "schedule.every_n_hours.few": "alle {n} Stunden",
    "schedule.every_n_hours.many": "alle {n} Stunden",
    "schedule.daily": "täglich {at}",
    "schedule.workdays": "werktags {at}",
    "schedule.weekends": "am Wochenende {at}",
    "schedule.on_days": "{days} {at}",
    "schedule.monthly": "am {days} jedes Monats {at}",
    "schedule.months_skipped": "(Monate ohne diesen Tag werden übersprungen)",
    "schedule.yearly": "jedes Jahr am {day}. {month} {at}",
    "schedule.leap_years_only": "(nur in Schaltjahren)",
    "schedule.every_other_day": "jeden zweiten Tag {at}",
    "schedule.every_n_days.few": "alle {n} Tage {at}",
    "schedule.every_n_days.many": "alle {n} Tage {at}",
    "schedule.weekly_on_days": "jede Woche {days} {at}",
    "schedule.every_other_week_on_days": "alle zwei Wochen {days} {at}",
    "schedule.every_n_weeks_on_days.few": "alle {n} Wochen {days} {at}",
    "schedule.every_n_weeks_on_days.many": "alle {n} Wochen {days} {at}",
    "schedule.since": "{schedule}, ab dem {day}. {month} {year}",
    "schedule.cron_code": "nach dem Cron-Zeitplan {code}",
    "schedule.rule_code": "nach der Wiederholungsregel {code}",
    # Antworten mit Ja und Nein
    "words.yes": "ja,bestätigen,bestätige",
    "words.no": "nein,ablehnen",
    "words.move": "verschieben,verschiebe",
    "words.keep": "behalten,behalte",
    "words.on": "an,ein,einschalten,aktivieren",
    "words.off": "aus,ausschalten,deaktivieren",
    # a human operator (rest_service and tg_bot): the operator chat's messages and the
    # customer's notices
    "label.hand_back": "↩️ An den Bot zurückgeben",
    "handoff.requested": "🙋 *{customer}* möchte mit einem Menschen sprechen.",
    "handoff.summary": "Kurz: {summary}",
    "handoff.recent": "Letzte Nachrichten:",
    "handoff.how": (
        "Antworten Sie auf diese Nachricht, um dem Kunden zu schreiben; tippen Sie auf "
        "die Schaltfläche, wenn Sie fertig sind."
    ),
    "handoff.customer_said": "💬 *{customer}*: {text}",
    "handoff.customer_file": "(eine Datei)",
    "handoff.no_answer": (
        "Leider ist gerade niemand frei. Wir melden uns so bald wie möglich bei Ihnen."
    ),
    "handoff.expired": (
        "⌛ Niemand hat *{customer}* rechtzeitig geantwortet: Der Kunde weiß, dass wir uns "
        "melden, und ein Lead wurde angelegt."
    ),
    "handoff.returned": "Sie sprechen wieder mit dem Assistenten.",
    "handoff.handed_back": "↩️ An den Bot zurückgegeben von {who}.",
    "handoff.closed": "Dieses Gespräch liegt nicht mehr bei einem Mitarbeiter.",
    "handoff.notice": "An den Bot zurückgegeben",
}
