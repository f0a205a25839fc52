"""Every text in English: the reference every other language matches, and the fallback."""

TEXTS: dict[str, str] = {
    # tg_bot. Markdown; its `{name}`s are filled in escaped.
    # what the commands menu shows (plain text, at most 256 characters each)
    "command.start": "Start, or see what I can do",
    "command.help": "What I can do and how to ask",
    "command.model": "Show the AI models, or choose one: /model NAME",
    "command.reset": "Start a fresh conversation",
    "command.timezone": "Show or set your time zone: /timezone Berlin, or UTC+3",
    "command.forget": "Delete everything I know about you",
    "command.briefings": "Your scheduled briefings; cancel one: /briefings cancel N",
    "command.reminders": "Your upcoming reminders; cancel one: /reminders cancel N",
    "command.calendar": "Connect your Google Calendar, or disconnect: /calendar disconnect",
    "command.memory": "What I remember about you, with a Delete button for each",
    "command.tasks": "Your open tasks, with a ✓ button to complete each",
    "command.usage": "What you used this month and today: messages, AI tokens, tool calls",
    "command.voice": "Answers as voice messages too: /voice on, or /voice off",
    "command.link": "Link your accounts on other channels: /link, or /link CODE",
    "command.unlink": "Unlink this Telegram account from your other accounts",
    # greetings and help
    "start.new": (
        "Hello, {name}! I'm your personal secretary.\n\n"
        "Just write to me in plain words: I can tell the time and the weather anywhere, "
        "keep your calendar, and remind you of things on time.\n\n"
        "Send /help to see the commands."
    ),
    "start.returning": "Welcome back, {name}! What can I do for you?",
    "help.text": (
        "Write to me as you would to a person, for example:\n"
        "• _What's the weather in Berlin tomorrow?_\n"
        "• _Remind me to call Anna at 6 pm_\n"
        "• _What's on my calendar this week?_\n\n"
        "In a group, mention me or reply to my message.\n\n"
        "**Commands**\n{commands}"
    ),
    "help.command": "/{command} — {description}",
    # allow-list, errors, what the bot cannot read
    "pairing.ask": "This is a private assistant. Ask the owner to approve code {code}.",
    "pairing.refused": "Sorry, the owner has not approved you.",
    "pairing.owner_notice": "{name} ({telegram_id}) asks to use the bot: code {code}.",
    "pairing.approved": "Approved: {code}.",
    "pairing.refused_by_owner": "Refused: {code}.",
    "group.not_enabled": "The bot is not enabled in this group.",
    "label.pairing_approve": "✅ Approve",
    "label.pairing_refuse": "🚫 Refuse",
    "refusal.not_allowed": (
        "Sorry, this is a private assistant and I can't talk to you. "
        "Ask its owner to add your Telegram id ({telegram_id})."
    ),
    "error.generic": "Sorry, something went wrong on my side. Please try again in a minute.",
    "error.redis_full": "Sorry, I'm out of room just now. I'll answer as soon as I can.",
    "unknown_command": "I don't know the command /{command}. Send /help to see what I can do.",
    # per-user limits and /usage
    "limit.flood": (
        "You're sending messages faster than I can read them; please wait {seconds} seconds "
        "and send your question again."
    ),
    "usage.text": (
        "**This month** (since {month_since}, {zone}):\n"
        "• Messages to me: {month_messages}\n"
        "• AI tokens: {month_tokens}\n"
        "• Tool calls: {month_tools}\n"
        "• Pictures drawn: {month_images}\n\n"
        "**Today** (UTC; counts start again in {hours} h {minutes} min):\n"
        "• AI tokens used: {tokens}{allowance}\n"
        "• Messages to me: {messages}\n"
        "• Active reminders: {reminders}"
    ),
    "usage.budget": " of {budget} ({left} left)",
    "usage.no_budget": " (no daily limit)",
    # /memory: the profile facts
    "memory.list": (
        "**What I remember about you** ({count}):\n{facts}\n\n"
        "Tap a button to delete a fact; /memory edit 2 … gives fact 2 new words; "
        "/memory clear deletes them all."
    ),
    "memory.item": "{n}. {fact}",
    "memory.delete": "🗑 Delete {n}",
    "memory.empty": (
        "I don't remember anything about you yet. Tell me something lasting about yourself "
        "(“my wife is Anna”, “I don't eat meat”) and I'll keep it."
    ),
    "memory.deleted": "Deleted: _{fact}_",
    "memory.deleted_notice": "Deleted.",
    "memory.stale_notice": "That one is gone already.",
    "memory.private_only": (
        "What I remember about you is private: send me /memory in a private chat."
    ),
    "memory.usage": (
        "To change a fact send /memory edit, its number and the new words (“/memory edit 2 I live "
        "in Berlin”); /memory clear deletes them all; /memory lists them."
    ),
    "memory.too_long": "A fact is kept in at most {max} characters: say it shorter.",
    "memory.no_such": "There is no fact number {n}: /memory lists them.",
    "memory.duplicate": "I remember that already as another fact.",
    "memory.edited": "Changed {n}: _{fact}_",
    "memory.clear_confirm": (
        "Delete all {count} facts I remember about you? Our conversations stay."
    ),
    "memory.clear_yes": "Yes, delete them all",
    "memory.clear_no": "No, keep them",
    "memory.cleared": "Done: I remember no facts about you now.",
    "memory.clear_kept": "Nothing was deleted: I still remember what you told me.",
    "memory.clear_stale": (
        "This question has lapsed and nothing was deleted. Send /memory clear to ask again."
    ),
    # /tasks: the to-do list
    "tasks.list": ("**Your open tasks** ({count}):\n{tasks}\n\nTap ✓ when one is done."),
    "tasks.item": "{n}. {mark}{title}{due}",
    "tasks.high": "❗ ",
    "tasks.low": "↓ ",
    "tasks.due": " — due {deadline}",
    "tasks.complete": "✓ {n}",
    "tasks.empty": (
        "You have no open tasks. Tell me one (“add a task: send the report by Friday”) "
        "and I'll keep it."
    ),
    "tasks.completed": "Done: _{title}_",
    "tasks.completed_notice": "Done.",
    "tasks.stale_notice": "That one is done or gone already.",
    "tasks.private_only": "Your tasks are private: send me /tasks in a private chat.",
    # /link and /unlink: one person across channels
    "tasks.google_link": (
        "To keep your tasks in step with Google Tasks, allow me to use them: "
        "[allow Google Tasks]({url})\n\n"
        "The link works once, for {minutes} minutes. Once you confirm, your tasks sync."
    ),
    "tasks.google_button": "Allow Google Tasks",
    "tasks.google_on": (
        "Google Tasks sync is on: what you add, complete or delete here appears there, "
        "and the other way round. /tasks google off stops it."
    ),
    "tasks.google_off": "Google Tasks sync is off. Both lists stay as they are.",
    "tasks.google_unreachable": (
        "Google Tasks can't be reached right now: your tasks are saved here and will "
        "reach Google at the next sync."
    ),
    "tasks.google_unavailable": "Sorry, I can't reach Google Tasks right now. Try again later.",
    "link.code": (
        "Your code: `{code}`\n\n"
        "Send `/link {code}` from your other account — WhatsApp, Slack, e-mail or the web chat "
        "— within {minutes} minutes. Then you are one person there and here: memory, "
        "reminders, calendar and settings."
    ),
    "link.done": "Linked. You are one person now on: {channels}.",
    "link.bad_code": (
        "That doesn't look like a code of mine. Send /link in your other account to get one, "
        "then `/link CODE` here."
    ),
    "link.unknown_code": (
        "That code is unknown, used or expired. Send /link in your other account for a new one."
    ),
    "link.second_telegram": (
        "That account has another Telegram account linked already. Unlink that one first "
        "(/unlink there)."
    ),
    "link.private_only": "Linking accounts works in a private chat: send me /link there.",
    "unlink.done": (
        "This Telegram account stands on its own again. Your other accounts ({channels}) keep "
        "what you had."
    ),
    "unlink.alone": "This Telegram account is not linked to any other.",
    "link.code_from": (
        "Your code: `{code}`\n\n"
        "Send `/link {code}` from your other account — Telegram, WhatsApp, Slack, e-mail or the "
        "web chat — within {minutes} minutes. Then you are one person there and here: memory, "
        "reminders, calendar and settings."
    ),
    "link.second_account": (
        "That person has another {channel} account linked already. Unlink that one first "
        "(/unlink there)."
    ),
    "unlink.done_in": (
        "This {channel} account stands on its own again. Your other accounts ({channels}) keep "
        "what you had."
    ),
    "unlink.alone_in": "This {channel} account is not linked to any other.",
    "channel.email": "e-mail",
    "channel.web": "the web chat",
    "channel.api": "the API",
    "usage.private_only": "Your usage is yours: send me /usage in a private chat.",
    "group.empty_mention": "Yes? Write your question together with the mention, or reply to me.",
    "nontext.video": (
        "I can't watch videos — send me text, a voice message, a picture or a file instead."
    ),
    "nontext.sticker": "Nice sticker! Please write in words, or send a voice message.",
    "nontext.other": (
        "I can't read this kind of message. Send text, a voice message, a picture or a file."
    ),
    # voice, pictures, documents
    "media.too_long.voice": (
        "That voice message is too long for me: I can listen to up to {limit}. "
        "Please send a shorter one, or type it."
    ),
    "media.too_long.audio": (
        "That recording is too long for me: I can listen to up to {limit}. "
        "Please send a shorter one."
    ),
    "media.too_big": "That file is too big for me: I can take files up to {limit}.",
    "media.unreadable": "I couldn't open that file. Could you send it again?",
    "media.too_many_pixels": "That picture has too many pixels for me. Please send a smaller one.",
    "media.over_budget": (
        "You have {limit} of files waiting for me already. Please wait for my answer, "
        "then send the rest."
    ),
    "media.storage_full": (
        "Sorry, I can't take files right now: my storage is full. Please send it again in a "
        "few minutes."
    ),
    "media.download_failed": (
        "Sorry, I couldn't fetch your file. Please send it again in a minute."
    ),
    "media.minutes": "{n} min",
    "media.minutes_seconds": "{m} min {s} s",
    "media.seconds": "{n} s",
    # /model
    "model.current": "You talk to **{model}**.\n\n{models}\n\nChoose another with /model NAME.",
    "model.default": "You talk to the default model.\n\n{models}\n\nChoose one with /model NAME.",
    "model.list": "Available models:\n{items}",
    "model.item": "• **{name}** — {display}",
    "model.item_default": "• **{name}** — {display} (default)",
    "model.set": "Done: I'll answer you with **{model}** from now on.",
    "model.unknown": "I don't know the model **{name}**.\n\n{models}",
    "model.none": "No AI models are set up yet. Please ask the administrator.",
    # /reset
    "reset.done": "Fresh start: I've set our previous conversation aside. What's next?",
    # /timezone
    "timezone.current": "Your time zone is **{zone}** ({offset}); it's {time} there now.",
    "timezone.unset": (
        "You haven't set a time zone, so I use **{zone}**. "
        "Set yours like this: /timezone Europe/Berlin"
    ),
    "timezone.set": "Your time zone is now **{zone}** ({offset}); it's {time} there now.",
    "timezone.invalid": (
        "I don't know the time zone **{zone}**. Send your city (/timezone Berlin), "
        "a UTC offset (/timezone UTC+3) or a name like America/New\\_York — "
        "or share your location with me."
    ),
    "timezone.found_place": "Found by the place: {place}.",
    "timezone.candidate": "• {place} — /timezone {zone}",
    "timezone.ambiguous": (
        "**{text}** could be several places with different time zones:\n{places}\n\n"
        "Send the one you mean."
    ),
    "timezone.offset_unsupported": (
        "No time zone keeps {offset} all year, so I can't keep your clock right with it. "
        "Send your city instead, for example /timezone St. John's."
    ),
    "timezone.lookup_down": (
        "I can't look places up right now. Send a zone name (/timezone Europe/Berlin) "
        "or a UTC offset (/timezone UTC+3), or try again in a minute."
    ),
    "timezone.location_failed": (
        "I couldn't tell the time zone of that place. Send /timezone with your city instead."
    ),
    "timezone.reminder_item": "• {when} — {text}",
    "timezone.move_offer": (
        "{count} of your reminders were set in **{old}**, because you hadn't set a time zone:\n"
        "{reminders}\n\n"
        "Send /timezone move to keep their clock time in {zone}, "
        "or /timezone keep to leave them as they are."
    ),
    "timezone.moved": "Moved {count} to {zone}, same clock time:\n{reminders}",
    "timezone.move_passed": "Not moved (that time has already passed in {zone}):\n{reminders}",
    "timezone.kept": "Done: {count} left as they were.",
    "timezone.nothing_to_move": "There are no reminders to move.",
    "timezone.move_needs_zone": "Set your time zone first, for example /timezone Berlin.",
    # /forget
    "forget.confirm": (
        "This deletes everything I keep about you: your settings, our conversations, "
        "your reminders and your calendar connection. It can't be undone.\n\n"
        "To go ahead, send `/forget confirm` within {minutes} minutes."
    ),
    "forget.done": "Done: I've forgotten everything about you. Send /start to begin again.",
    # /reminders
    "reminders.none": (
        "You have no upcoming reminders. Just ask me, e.g. _remind me to call Anna at 6 pm_."
    ),
    "reminders.list": (
        "**Your reminders** ({zone} time):\n{items}\n\n"
        "To cancel one, send `/reminders cancel NUMBER`, or just tell me which."
    ),
    "reminders.item": "{number}. {when} — {text}",
    "reminders.urgent_text": (
        "🚨 {text} (urgent: every {minutes} min until Done, at most {repeats} times)"
    ),
    "reminders.item_repeating": "{number}. {when} — {text} ({rule})",
    "reminders.weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    "reminders.briefings": "Scheduled briefings: {count}, see /briefings.",
    "reminders.cancelled": "Cancelled the reminder: {text}",
    "reminders.no_such": "There is no reminder number {number}. Send /reminders to see the list.",
    # /briefings
    "briefings.none": (
        "You have no scheduled briefings. Just ask me, e.g. _every weekday at 8 send me my "
        "agenda and the weather in Berlin_."
    ),
    "briefings.list": (
        "**Your briefings** ({zone} time):\n{items}\n\n"
        "To cancel one, tap its button or send `/briefings cancel NUMBER`; to change one, "
        "just tell me."
    ),
    "briefings.cancelled": "Cancelled the briefing: {text}",
    "briefings.no_such": "There is no briefing number {number}. Send /briefings to see the list.",
    "briefings.cancelled_notice": "Briefing cancelled.",
    "briefings.gone_notice": "This briefing was already cancelled.",
    # /calendar
    "calendar.connect": (
        "Connect your Google Calendar, and I'll tell you what's planned and add events: "
        "[connect Google Calendar]({url})\n\n"
        "The link works once, for {minutes} minutes."
    ),
    "calendar.reconnect": (
        "Google no longer accepts the connection to your calendar. Connect it again: "
        "[reconnect Google Calendar]({url})\n\n"
        "The link works once, for {minutes} minutes."
    ),
    "calendar.connected": (
        "Your Google Calendar is connected as **{account}**.\n\n"
        "To disconnect it, send /calendar disconnect.\n\n"
        "To connect another Google account (work or personal), send /calendar add."
    ),
    "calendar.connected_unknown": (
        "Your Google Calendar is connected.\n\nTo disconnect it, send /calendar disconnect."
    ),
    "calendar.disconnected": "Done: your Google Calendar is disconnected and my access revoked.",
    "calendar.not_connected": "Your Google Calendar isn't connected. Send /calendar to connect it.",
    "calendar.private_only": "Calendars are private: send me /calendar in a private chat.",
    "calendar.unavailable": "The calendar service isn't answering. Try again in a minute.",
    "calendar.pending": (
        "A Google account waits for your confirmation: **{account}**.\n\n"
        "Send `/calendar confirm` to connect it, or `/calendar decline` if it isn't yours."
    ),
    "calendar.confirmed": (
        "✅ Google Calendar connected as **{account}**. Ask me what's on your calendar."
    ),
    "calendar.confirmed_unknown": "✅ Google Calendar connected. Ask me what's on your calendar.",
    "calendar.nothing_pending": (
        "No Google account is waiting for your confirmation (a request expires after a while). "
        "Send /calendar for a new link."
    ),
    "calendar.declined": (
        "Declined: that Google account is not connected, and its access is revoked."
    ),
    # buttons (a notice is the short plain text shown when a button is tapped)
    "button.unknown": "This button no longer works.",
    "button.refused": "Sorry, this bot is private.",
    "button.used": "Already done.",
    "button.not_yours": "This button is for someone else.",
    "button.failed": "Sorry, that didn't work. Please try again.",
    "reminders.cancelled_notice": "Reminder cancelled.",
    "reminders.cancelled_mark": "✖ Cancelled.",
    "reminders.gone_notice": "This reminder was already cancelled.",
    "reminders.gone_mark": "This reminder is no longer active.",
    "reminders.snoozed_notice": "Snoozed.",
    "reminders.snoozed_mark": "⏰ I'll remind you again {when}.",
    "reminders.done_notice": "Done.",
    "reminders.done_mark": "✅ Done.",
    "reminders.repeats_stopped_notice": "Done: no more repeats.",
    "reminders.repeats_stopped_mark": "✅ Done: no more repeats.",
    "model.set_notice": "Model changed.",
    "model.gone_notice": "That model is no longer available.",
    "model.gone": "That model is no longer available. Send /model to see the current ones.",
    "forget.yes": "Yes, forget me",
    "forget.no": "No, keep everything",
    "forget.done_notice": "Forgotten.",
    "forget.stale_notice": "This question has lapsed.",
    "forget.stale": "This question has lapsed and nothing was deleted. Send /forget to ask again.",
    "forget.kept_notice": "Nothing deleted.",
    "forget.kept": "Nothing was deleted: I still remember our conversations.",
    "calendar.add": (
        "Connect another Google account (work or personal): [connect a Google "
        "account]({url})\n\nThe link works once, for {minutes} minutes."
    ),
    "calendar.accounts": "Your Google accounts:",
    "calendar.account_line": "• **{account}**",
    "calendar.account_line_reconnect": "• **{account}** ⚠️ reconnect needed",
    "calendar.account_default": " (default: new events go here)",
    "calendar.accounts_help": (
        "\n`/calendar default <account>` chooses where new events go, `/calendar disconnect "
        "<account>` drops one, `/calendar add` connects another."
    ),
    "calendar.default_button": "Make {account} default",
    "calendar.disconnect_account_button": "Disconnect {account}",
    "calendar.reconnect_button": "Reconnect",
    "calendar.which_account": (
        "Which Google account? Name it by its address or a part of it: {accounts}."
    ),
    "calendar.disconnected_account": (
        "Done: **{account}** is disconnected and my access to it revoked."
    ),
    "calendar.default_now": "New events now go to **{account}**.",
    "calendar.confirmed_another": (
        "✅ **{account}** connected too. I read the calendars of all your Google accounts; "
        "new events still go to your default one (send /calendar to change that)."
    ),
    "calendar.default_notice": "Default changed.",
    "calendar.connect_button": "Connect Google Calendar",
    "calendar.disconnect_button": "Disconnect",
    "calendar.disconnected_notice": "Disconnected.",
    "calendar.unavailable_notice": "The calendar service isn't answering. Try again in a minute.",
    "calendar.deleted": "🗑 Deleted: **{summary}**.",
    "calendar.deleted_already": "**{summary}** was already gone from your calendar.",
    "calendar.delete_kept": "Kept: **{summary}**.",
    "calendar.deleted_notice": "Deleted.",
    "calendar.kept_notice": "Kept.",
    "confirm.yes_notice": "Doing it.",
    "confirm.running": "✅ You said yes: doing it now.",
    "confirm.no_notice": "Not done.",
    "confirm.dropped": "✖ Not done: nothing was stored or removed.",
    "catalogue.asked": "🔎 You asked about {name}.",
    "catalogue.notice": "One moment.",
    "feedback.up_notice": "Thanks for the feedback!",
    "feedback.down_notice": "Thanks, noted.",
    "feedback.ask_comment": (
        "😔 Sorry this answer missed. What was wrong? Write it in your next message, or tap Skip."
    ),
    "feedback.comment_saved": "Thanks, your comment is saved.",
    "feedback.skipped": "OK, no comment.",
    "feedback.expired": "This answer can no longer be rated.",
    "confirm.expired": "This question has expired: nothing was done. Ask me again if you want it.",
    # /voice
    "voice.state_on": (
        "Voice answers are **on**: each answer comes as a voice message too. "
        "Send /voice off for text only."
    ),
    "voice.state_off": (
        "Voice answers are **off**: I answer in text. Send /voice on to get each answer as a "
        "voice message too, or ask for a spoken answer in your message."
    ),
    "voice.on": "Done: each answer comes as a voice message too. Send /voice off to stop.",
    "voice.off": "Done: text answers only. Send /voice on to hear them again.",
    "voice.unknown": "I didn't understand **{word}**. Send /voice on or /voice off.",
    "voice.no_model": (
        "No speech model is set up yet, so answers stay text until the administrator adds one."
    ),
    # assistant: what it says itself when no model can. `token_budget_spent`: `{hours}` and
    # `{minutes}` are left until 00:00 UTC; `status.*`: a live answer's line while a tool runs.
    "assistant.apology": (
        "Sorry, I can't answer right now: my language model is unavailable. "
        "Please try again in a few minutes."
    ),
    "assistant.out_of_steps": (
        "Sorry, I couldn't finish this: it needed more steps than I may take for one message. "
        "Could you ask for something smaller or more specific?"
    ),
    "assistant.turn_failed": (
        "Sorry, something went wrong with this message and I couldn't answer it. "
        "Please try again, or say it differently."
    ),
    "assistant.no_such_assistant": (
        "Sorry, the assistant “{name}” isn't available here: no active assistant has that name."
    ),
    "assistant.not_configured": "Sorry, I'm not set up yet: no secretary assistant is configured.",
    "assistant.edited": "_(answering your edited message)_",
    "assistant.token_budget_spent": (
        "Sorry, you've used today's allowance of my language model. "
        "It resets at 00:00 UTC, in {hours} h {minutes} min; /usage shows your figures."
    ),
    "assistant.held": "❓ Waiting for your Yes: {what}",
    "assistant.confirmed_done": "✅ Done: {what}",
    "assistant.remember_proposal": "💡 Shall I remember this about you? _{fact}_",
    "assistant.remembered": "✅ Remembered: _{fact}_",
    "assistant.confirmed_failed": "Sorry, that could not be done: {error}",
    "assistant.confirmed_gone": (
        "This question was answered already or has expired: nothing was done."
    ),
    "assistant.status.calendar": "checking your calendar…",
    "assistant.status.weather": "looking up the weather…",
    "assistant.status.time": "checking the time…",
    "assistant.status.reminder": "setting up the reminder…",
    "assistant.status.sub_assistant": "asking a colleague…",
    "assistant.status.web_search": "searching the web…",
    "assistant.status.read_page": "reading the page…",
    "assistant.status.draw": "drawing the picture…",
    "assistant.status.working": "working on it…",
    "assistant.draw.no_model": (
        "Sorry, I can't draw pictures here: no model that makes images is set up."
    ),
    "assistant.draw.refused": (
        "Sorry, I can't draw that: the picture service refused this request. Could you "
        "describe something else?"
    ),
    "assistant.draw.not_here": (
        "Sorry, I can't send pictures in this chat: ask me in Telegram or in the web chat."
    ),
    "assistant.draw.failed": (
        "Sorry, I couldn't draw the picture just now. Please try again in a moment."
    ),
    # assistant: voice messages, pictures and documents it cannot take, and why
    "attachment.voice_quote": "🎤 «{text}»",
    "attachment.document_cut": "📄 {name} is long: I read its first {chars} characters.",
    "attachment.voice_too_long": (
        "Sorry, that voice message is too long for me: I listen to up to {seconds} seconds. "
        "Could you split it or type it?"
    ),
    "attachment.no_transcription": (
        "Sorry, I can't listen to voice messages here: no speech recognition model is set up. "
        "Please type your message."
    ),
    "attachment.transcription_failed": (
        "Sorry, I couldn't make out your voice message just now. "
        "Please try again in a moment, or type it."
    ),
    "attachment.nothing_heard": "Sorry, I couldn't hear any words in that voice message.",
    "attachment.no_vision": (
        "Sorry, I can't look at pictures here: no model that sees images is set up."
    ),
    "attachment.vision_other_model": (
        "Your model {model} can't see pictures, but {vision} can: "
        "switch with /model {vision} and send the picture again."
    ),
    "attachment.picture_unreadable": (
        "Sorry, I couldn't open that picture. Please send it as a JPEG or PNG photo."
    ),
    "attachment.document_unsupported": "Sorry, I can't read this kind of file. I read {supported}.",
    "attachment.document_unreadable": (
        "Sorry, I couldn't read this file: it seems damaged. I read {supported}."
    ),
    "attachment.document_encrypted": (
        "Sorry, this file is protected with a password, so I can't read it. "
        "Please send it without the password."
    ),
    "attachment.document_empty": (
        "Sorry, I found no text in this file (is it a scan?). I read the text of {supported}."
    ),
    "attachment.document_too_big": (
        "Sorry, this file is too big for me: I read documents up to {megabytes} MB."
    ),
    "attachment.file_expired": (
        "Sorry, I no longer have the file you sent: it waited too long. Please send it again."
    ),
    "attachment.document_too_heavy": (
        "Sorry, this file is too heavy for me to open: it unpacks to far more than its size. "
        "Could you send its text, or a plain PDF or DOCX?"
    ),
    "attachment.picture_too_many_pixels": (
        "Sorry, that picture has too many pixels for me. "
        "Please send a smaller one (a normal photo works)."
    ),
    "attachment.pictures_too_big": (
        "Sorry, these pictures are too much for one message: I take up to {megabytes} MB of "
        "pictures at a time. Please send fewer."
    ),
    # assistant: an alert before a calendar event
    "alert.event": "🔔 In {minutes} min, at {time}: {summary}",
    # buttons under a fired reminder and under a question waiting for the user's yes
    "label.snooze_10m": "⏰ 10 min",
    "label.snooze_1h": "⏰ 1 h",
    "label.snooze_1d": "⏰ Tomorrow",
    "label.done": "✅ Done",
    "label.catalogue_show": "Show {name}",
    "label.share_phone": "📱 Share my phone number",
    "label.feedback_up": "👍",
    "label.feedback_down": "👎",
    "label.feedback_skip": "Skip",
    "label.cancel": "✖ Cancel",
    "label.delete_yes": "🗑 Yes, delete",
    "label.delete_no": "No, keep it",
    "label.confirm_yes": "✅ Yes, do it",
    "label.confirm_no": "No, don't",
    # cron_service: a fire, in the language of the reminder's own words. `fire.briefing` is
    # the request the assistant answers, not a text the user reads.
    "fire.reminder": "⏰ {text}",
    "fire.urgent": "🚨 Urgent: {text}\n(I will repeat it until you press Done)",
    "fire.urgent_repeat": "🚨 Urgent, repeat {repeat} of {of}: {text}",
    "fire.briefing": (
        "Scheduled briefing the user set up: {text}\n"
        "Answer with fresh data from your tools, in one short message. With a mail tool, "
        "add the mail that matters today (its search) in a few lines."
    ),
    "fire.late": "⏰ (late) {text}\n(it was due at {due})",
    "fire.missed_reminder": "Missed reminder (due {due}): {text}",
    "fire.missed_prompt": "Missed scheduled request (due {due}): {text}",
    # google_calendar_service: asks the link's owner after a Google consent
    "calendar.ask_owner": (
        "Connect the Google account {account} to your assistant?\n"
        "Send /calendar confirm to connect it, or /calendar decline if it is not yours. "
        "The request expires in {minutes} min."
    ),
    "calendar.unknown_account": "(address unknown)",
    # common/features/schedule.py: a schedule in words. Lists are comma-separated, Sunday or January
    # first; `.few` / `.many` are the forms for 2-4 and for other counts (one form in English).
    "schedule.days": "Sunday,Monday,Tuesday,Wednesday,Thursday,Friday,Saturday",
    "schedule.every_weekday": (
        "every Sunday,every Monday,every Tuesday,every Wednesday,every Thursday,every Friday,"
        "every Saturday"
    ),
    "schedule.every_other_weekday": (
        "every other Sunday,every other Monday,every other Tuesday,every other Wednesday,"
        "every other Thursday,every other Friday,every other Saturday"
    ),
    "schedule.months": (
        "January,February,March,April,May,June,July,August,September,October,November,December"
    ),
    "schedule.numbers": "2,3,4",
    "schedule.ordinal.st": "{n}st",
    "schedule.ordinal.nd": "{n}nd",
    "schedule.ordinal.rd": "{n}rd",
    "schedule.ordinal.th": "{n}th",
    "schedule.and": "and",
    "schedule.at": "at {times}",
    "schedule.every_minute": "every minute",
    "schedule.every_hour": "every hour",
    "schedule.every_n_minutes.few": "every {n} minutes",
    "schedule.every_n_minutes.many": "every {n} minutes",
    "schedule.hourly_at": "every hour at :{minute}",
    "schedule.every_n_hours.few": "every {n} hours",
    "schedule.every_n_hours.many": "every {n} hours",
    "schedule.daily": "every day {at}",
    "schedule.workdays": "every weekday {at}",
    "schedule.weekends": "on weekends {at}",
    "schedule.on_days": "every {days} {at}",
    "schedule.monthly": "on the {days} of every month {at}",
    "schedule.months_skipped": "(months without that day are skipped)",
    "schedule.yearly": "every year on {day} {month} {at}",
    "schedule.leap_years_only": "(only in leap years)",
    "schedule.every_other_day": "every other day {at}",
    "schedule.every_n_days.few": "every {n} days {at}",
    "schedule.every_n_days.many": "every {n} days {at}",
    "schedule.weekly_on_days": "every {days} {at}",
    "schedule.every_other_week_on_days": "every other {days} {at}",
    "schedule.every_n_weeks_on_days.few": "every {n} weeks on {days} {at}",
    "schedule.every_n_weeks_on_days.many": "every {n} weeks on {days} {at}",
    "schedule.since": "{schedule}, starting {day} {month} {year}",
    "schedule.cron_code": "on the cron schedule {code}",
    "schedule.rule_code": "on the recurrence rule {code}",
    # what a user may answer a yes/no question with (/calendar, /forget, /timezone, /voice):
    # comma-separated, matched in every language
    "words.yes": "yes,confirm",
    "words.no": "no,decline",
    "words.move": "move",
    "words.keep": "keep",
    "words.on": "on,enable",
    "words.off": "off,disable",
    # a human operator (rest_service and tg_bot): the operator chat's messages and the
    # customer's notices
    "label.hand_back": "↩️ Hand back to the bot",
    "handoff.requested": "🙋 *{customer}* asks for a person.",
    "handoff.summary": "Summary: {summary}",
    "handoff.recent": "Last messages:",
    "handoff.how": (
        "Reply to this message to answer the customer; tap the button when you are done."
    ),
    "handoff.customer_said": "💬 *{customer}*: {text}",
    "handoff.customer_file": "(a file)",
    "handoff.no_answer": (
        "Sorry, no one is free right now. We'll get back to you as soon as we can."
    ),
    "handoff.expired": (
        "⌛ No one answered *{customer}* in time: they were told we'll get back to them, "
        "and a lead was recorded."
    ),
    "handoff.returned": "You're talking with the assistant again.",
    "handoff.handed_back": "↩️ Handed back to the bot by {who}.",
    "handoff.closed": "This conversation is no longer with an operator.",
    "handoff.notice": "Handed back to the bot",
}
