"""Every Redis stream, key and channel name, under one prefix (REDIS_KEY_PREFIX)."""

from __future__ import annotations

from dataclasses import dataclass

TO_SECRETARY = "queue:to_secretary"
TO_TELEGRAM = "queue:to_telegram"
#: Answers for the channels other than Telegram (the `channels` service reads it).
TO_CHANNELS = "queue:to_channels"
#: Telegram updates tg_bot could not queue; their dead letters go to `tg_bot:updates:dead`.
TELEGRAM_UPDATES = "tg_bot:updates"
ASSISTANT_GROUP = "assistant"
TG_BOT_GROUP = "tg_bot"
CHANNELS_GROUP = "channels"
CONFIG_UPDATED = "config:updated"
CRON_UPDATED = "cron:updated"
#: A user changed or was forgotten in rest_service
#: (`common.infrastructure.queue_messages.UserChanged`): tg_bot drops its cached copy.
USER_UPDATED = "user:updated"
#: A bot row changed in rest_service (`common.infrastructure.queue_messages.BotChanged`),
#: for whoever runs the bots' receivers (decision 0048).
BOTS_UPDATED = "bots:updated"
#: A pairing was made or answered in rest_service (its Telegram id as the message): tg_bot
#: drops its cached copy of that person.
PAIRINGS_UPDATED = "pairings:updated"
GOOGLE_TASKS_SYNC = "google_tasks_sync"
#: The assistant's answers while they are being written: best effort, trimmed.
DRAFTS = "queue:drafts"
#: The same for the channels that show answers as they are written (the web chat, the public
#: API's streamed answers): the channels service reads them.
CHANNEL_DRAFTS = "queue:channel_drafts"


@dataclass(frozen=True)
class Names:
    """Builds prefixed names. Stream names in messages (`reply_stream`) are unprefixed;
    `stream()` applies the prefix when a service touches Redis."""

    prefix: str = ""

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def tagged(self, owner: str, name: str) -> str:
        """A key in the Redis Cluster slot of the key `owner` (already prefixed): Redis hashes
        only the text between the first `{` and `}`, and a key without braces by its whole
        name, so `{owner}` puts this key beside `owner` itself. Every key one script or
        transaction touches is built this way from one owner (a stream, a chat, a limit).
        The prefix stays first, so a prefix still names all of a run's keys."""
        return f"{self.prefix}{{{owner}}}:{name}"

    def slot_of(self, group: str) -> str:
        """The owner key of a group of keys that no contract key anchors (a chat's state,
        one rate limit): its keys are `tagged(slot_of(group), ...)`."""
        return self.key(group)

    def stream(self, name: str) -> str:
        return self.key(name)

    @property
    def to_secretary(self) -> str:
        return self.key(TO_SECRETARY)

    @property
    def to_telegram(self) -> str:
        return self.key(TO_TELEGRAM)

    @property
    def drafts(self) -> str:
        return self.key(DRAFTS)

    def blob(self, blob_id: str) -> str:
        """A file's bytes for one turn (a voice message, a photo, a document, speech audio)."""
        return self.key(f"blob:{blob_id}")

    def blob_budget(self, part: str) -> str:
        """The blob budget's books, in one slot: `usage` (bytes per owner and `#total`),
        `owners` (blob key → owner and size), `expiry` (blob key by its expiry, ms)."""
        return self.tagged(self.slot_of("blob_budget"), part)

    def button_used(
        self, chat_id: int | str, telegram_message_id: int | str, target: str = ""
    ) -> str:
        """Set once the buttons of one sent message acted (those acting on `target`, when
        given: one per reminder of a list): a second tap does nothing twice."""
        suffix = f":{target}" if target else ""
        return self.key(f"tg_bot:button_used:{chat_id}:{telegram_message_id}{suffix}")

    def last_user_message(self, chat_id: int | str, telegram_user_id: int | str) -> str:
        """The user's last message in a chat (id and date): only its edit is answered again."""
        return self.key(f"tg_bot:last_message:{chat_id}:{telegram_user_id}")

    def live_answer(self, first_part_id: str) -> str:
        """The Telegram message a streamed answer is shown in (groups: edited as it grows),
        beside the sent marker of the answer's first part (`first_part_id`), which the drafts'
        gate reads with it."""
        return self.tagged(self.telegram_sent_part(first_part_id), "tg_bot:live")

    def album(self, chat_id: int | str, media_group_id: str) -> str:
        """The parts of one album (several photos or documents sent together): one turn. In
        the slot of the stream to the assistant, which its flush writes to."""
        return self.tagged(self.to_secretary, f"tg_bot:album:{chat_id}:{media_group_id}")

    @property
    def albums_due(self) -> str:
        """Albums being gathered (their `album` keys), scored by when they are due (ms)."""
        return self.tagged(self.to_secretary, "tg_bot:albums:due")

    @property
    def config_updated(self) -> str:
        return self.key(CONFIG_UPDATED)

    @property
    def cron_updated(self) -> str:
        return self.key(CRON_UPDATED)

    @property
    def user_updated(self) -> str:
        return self.key(USER_UPDATED)

    @property
    def pairings_updated(self) -> str:
        return self.key(PAIRINGS_UPDATED)

    @property
    def google_tasks_sync_lock(self) -> str:
        """`<this>:<user id>`: one Google Tasks sync of a user's at a time."""
        return self.key(GOOGLE_TASKS_SYNC)

    def pairing_refused_told(self, telegram_id: int) -> str:
        """Set while a refused person's last "not approved" answer is recent."""
        return self.key(f"tg_bot:pairing:refused_told:{telegram_id}")

    def group_refused_told(self, chat_id: int) -> str:
        """Set once a group not allowed was told the bot is not enabled there."""
        return self.key(f"tg_bot:group:refused_told:{chat_id}")

    @property
    def bots_updated(self) -> str:
        return self.key(BOTS_UPDATED)

    @property
    def config_snapshot(self) -> str:
        """Beside `config_version` (its slot), which is stored with it."""
        return self.tagged(self.config_version, "config:snapshot")

    @property
    def config_version(self) -> str:
        return self.key("config:version")

    def telegram_bot_offset(self, bot_id: int | str) -> str:
        """The offset after the last queued batch of this bot (a new token, a new bot id), in
        the slot of the stream to the assistant: the commit moves it as it queues."""
        return self.tagged(self.to_secretary, f"tg_bot:offset:{bot_id}")

    def telegram_bot_offset_floor(self, bot_id: int | str) -> str:
        """The lowest update_id of the last queued batch: ids from it up to the offset are
        replays; ids below it, a restarted update_id sequence."""
        return self.tagged(self.to_secretary, f"tg_bot:offset:{bot_id}:floor")

    def telegram_webhook_secret(self, bot_id: int | str) -> str:
        """The webhook's secret_token when none is configured: made once, shared by replicas."""
        return self.key(f"tg_bot:webhook:secret:{bot_id}")

    def telegram_webhook_seen(self, bot_id: int | str, update_id: int | str) -> str:
        """Set with the queueing of a webhook update, so a redelivery is not queued again."""
        return self.tagged(self.to_secretary, f"tg_bot:webhook:seen:{bot_id}:{update_id}")

    def telegram_replied(self, bot_id: int | str, update_id: int | str) -> str:
        """Set with the XADD of an update's own replies (the stream to Telegram, another slot
        than the commit's), so a redelivered update is not replied to twice."""
        return self.tagged(self.to_telegram, f"tg_bot:replied:{bot_id}:{update_id}")

    @property
    def telegram_poller_lease(self) -> str:
        """Held by the one tg_bot process that polls getUpdates."""
        return self.key("tg_bot:poller")

    def telegram_bot_poller_lease(self, bot_id: object) -> str:
        """Held by the one tg_bot process that polls getUpdates for a bots row's bot."""
        return self.key(f"tg_bot:poller:{bot_id}")

    def telegram_sent_part(self, part_id: str) -> str:
        """Marks one part of an answer as accepted by Telegram, so a redelivery skips it."""
        return self.key(f"tg_bot:sent:{part_id}")

    def telegram_send_limit(self, scope: str) -> str:
        """The send log of one rate limit: `all`, `chat:<id>` or `group:<id>`. One slot for
        all of them: a send is checked against `all` and its chat's at once."""
        return self.tagged(self.slot_of("tg_bot:limit"), scope)

    def telegram_typing(self, chat_id: int | str, bot_id: object = None) -> str:
        """Incoming messages of a chat still waiting for their answer ("typing…"), in the
        slot of the stream to the assistant, which the messages are queued to with it; per
        bot (`bot_id`: a bots row's id, None the default bot): each bot types in its chat."""
        bot = "" if bot_id is None else f"bot:{bot_id}:"
        return self.tagged(self.to_secretary, f"tg_bot:typing:{bot}{chat_id}")

    def telegram_forget_pending(self, telegram_user_id: int | str) -> str:
        """A /forget asked for and not yet confirmed."""
        return self.key(f"tg_bot:forget:{telegram_user_id}")

    def telegram_memory_clear_pending(self, telegram_user_id: int | str) -> str:
        """A /memory clear asked for and not yet confirmed."""
        return self.key(f"tg_bot:memory_clear:{telegram_user_id}")

    def assistant_answered(self, message_id: str, reply_stream: str) -> str:
        """Set with the answer's XADD to `reply_stream` (unprefixed), in its slot, so a
        redelivered message is never answered twice."""
        return self.tagged(self.stream(reply_stream), f"assistant:answered:{message_id}")

    def event_alert(self, user_event: str, stream: str = TO_TELEGRAM) -> str:
        """An alert before a calendar event (`<user id>:<event id>`) was queued: set with
        its XADD to the stream (unprefixed) it went to, in that stream's slot."""
        return self.tagged(self.stream(stream), f"assistant:event_alert:{user_event}")

    def channel_home(self, user_id: str) -> str:
        """Where a person without Telegram last wrote from (`channel`, `channel_chat_id`, as
        JSON): what is not an answer to a message (a calendar alert) goes there."""
        return self.key(f"channels:home:{user_id}")

    def reminders_made(self, message_id: str) -> str:
        """The reminders the assistant made while answering a message: its answer carries a
        Cancel button for each."""
        return self.key(f"assistant:reminders_made:{message_id}")

    def catalogue_shown(self, message_id: str) -> str:
        """The catalogue items a search showed while the assistant answered a message (JSON
        `{"id", "name"}` each): its answer carries a Show button for each."""
        return self.key(f"assistant:catalogue_shown:{message_id}")

    def start_payload(self, bot_id: str | None, user_id: str) -> str:
        """The deep link a user came through to a bot (`/start <payload>`), kept for the lead
        their conversation may become: per bot (None: the default bot) and user."""
        return self.key(f"tg_bot:start_payload:{bot_id or 'default'}:{user_id}")

    def feedback_answer(self, token: str) -> str:
        """What the 👍 / 👎 buttons carrying `token` rate (JSON `RatedAnswer`, written by the
        assistant with its answer, read by tg_bot on a press; `common/features/feedback.py`)."""
        return self.key(f"assistant:feedback_answer:{token}")

    def feedback_comment(self, bot_id: str | None, chat_id: int | str, user: int | str) -> str:
        """A 👎's token while tg_bot waits for its comment: the Telegram user's next message
        in the chat (per bot; None: the default bot) is saved as the comment."""
        return self.key(f"tg_bot:feedback_comment:{bot_id or 'default'}:{chat_id}:{user}")

    def handoff_open(self, conversation_key: str) -> str:
        """The conversation is with a person (JSON `{"id", "operator_chat_id", "bot_id"}`):
        the assistant forwards its messages to the operators instead of answering. Written by
        rest_service after the handoff's commit, deleted when it is handed back or expires."""
        return self.key(f"handoff:open:{conversation_key}")

    def handoff_relay(self, bot_id: str | None, chat_id: int, telegram_message_id: int) -> str:
        """A message a bot (None: the default bot) sent to an operator chat for a handoff →
        the handoff's id: an operator's Telegram reply to it reaches that customer."""
        return self.key(
            f"tg_bot:handoff_relay:{bot_id or 'default'}:{chat_id}:{telegram_message_id}"
        )

    def phone_requested(self, message_id: str) -> str:
        """The contact tool asked for the customer's number while the assistant answered a
        message: its answer shows the "Share my phone number" keyboard."""
        return self.key(f"assistant:phone_requested:{message_id}")

    def picture_drawn(self, message_id: str) -> str:
        """The blob key of the picture the draw tool made while the assistant answered a
        message: its answer carries it as a photo."""
        return self.key(f"assistant:picture_drawn:{message_id}")

    def calendar_shown(self, user_id: str) -> str:
        """Events the calendar tool showed a user lately (hash: event id → calendar id): only
        these may be changed or deleted."""
        return self.key(f"assistant:calendar_shown:{user_id}")

    def mail_shown(self, user_id: str) -> str:
        """Messages the mail tool showed a user lately (hash: message id → a line naming it):
        only these may be archived or labelled."""
        return self.key(f"assistant:mail_shown:{user_id}")

    def mail_send(self, user_id: str, idempotency_key: str) -> str:
        """A mail send by its idempotency key: "sending" while under way, then what was sent
        (a retried send sends nothing again)."""
        return self.key(f"google:mail_send:{user_id}:{idempotency_key}")

    def confirmation(self, token: str) -> str:
        """An action (an event delete, a held tool call) waiting for its owner's Yes / No
        button (`common/features/confirmations.py`). The name is the one event deletes had first, so
        questions asked before an upgrade stay answerable."""
        return self.key(f"calendar:delete:{token}")

    def confirmations_asked(self, message_id: str) -> str:
        """The actions the assistant asked about while answering a message: its answer
        carries their Yes / No buttons."""
        return self.key(f"assistant:calendar_deletes:{message_id}")

    def fact_declined(self, user_id: str, fact: str) -> str:
        """A fact the user said No to remembering (its key's digest): not proposed again
        while this lives (`common/features/confirmations.py`)."""
        return self.key(f"assistant:fact_declined:{user_id}:{fact}")

    def thread_summary_lock(self, thread_id: str) -> str:
        """Held while an assistant replica folds a thread's older turns into its summary."""
        return self.key(f"assistant:summary_lock:{thread_id}")

    def llm_breaker(self, model: str, part: str) -> str:
        """A model's circuit breaker (assistant): `failures`, `open`, `tripped`, `probe`,
        in one slot per model."""
        return self.tagged(self.slot_of(f"assistant:llm_breaker:{model}"), part)

    def llm_stats(self, day: str) -> str:
        """The assistant's LLM requests on a UTC day (`YYYY-MM-DD`), counted per quarter hour
        (`common/features/llm_stats.py`); every day in one slot, so a read of two days is one
        call."""
        return self.tagged(self.slot_of("assistant:llm_stats"), day)

    def user_message_window(self, telegram_user_id: int | str) -> str:
        """A user's recent messages (sorted set by time): the per-minute limit (tg_bot). The
        limit's keys share one slot per user: one script admits with all three."""
        return self.tagged(self.slot_of(f"limits:user:{telegram_user_id}"), "messages")

    def user_flood_notice(self, telegram_user_id: int | str) -> str:
        """Set while a user has been told to slow down, so they are told once (tg_bot)."""
        return self.tagged(self.slot_of(f"limits:user:{telegram_user_id}"), "flood_notice")

    def user_messages_today(self, telegram_user_id: int | str, day: str) -> str:
        """How many messages a user sent on a UTC day (`YYYY-MM-DD`), for /usage."""
        owner = self.slot_of(f"limits:user:{telegram_user_id}")
        return self.tagged(owner, f"messages_today:{day}")

    def user_tokens_today(self, user_id: str, day: str) -> str:
        """LLM tokens (prompt + completion) a user's turns used on a UTC day (assistant)."""
        return self.key(f"limits:tokens:{user_id}:{day}")

    def admin_session(self, token_digest: str) -> str:
        """One web-admin session, by the SHA-256 of its cookie token (rest_service)."""
        return self.key(f"admin:session:{token_digest}")

    def admin_sessions_of(self, admin: str) -> str:
        """The set of an admin's session digests, so a password change ends them all."""
        return self.key(f"admin:sessions_of:{admin}")

    def admin_login_failures(self, scope: str) -> str:
        """Failed admin logins of `account:<digest>` or `address:<ip>` (rest_service). One
        slot for all: an attempt counts against its account and its address at once."""
        return self.tagged(self.slot_of("admin:login"), f"failures:{scope}")

    def admin_login_lock(self, scope: str) -> str:
        """Set while `scope` must wait before its next admin login attempt."""
        return self.tagged(self.slot_of("admin:login"), f"lock:{scope}")

    @property
    def history_retention_claim(self) -> str:
        """Held by the rest_service replica that deletes old chat messages this period."""
        return self.key("rest_service:history_retention")

    @property
    def webhook_retention_claim(self) -> str:
        """Held by the rest_service replica that deletes old finished webhook deliveries."""
        return self.key("rest_service:webhook_retention")

    @property
    def webhooks_pending(self) -> str:
        """Published after a commit that wrote webhook deliveries: the workers look at once."""
        return self.key("rest_service:webhooks_pending")

    def recent_language(self, chat_id: int | str, telegram_user_id: int | str) -> str:
        """The language a user last wrote in, in a chat (tg_bot; its texts follow it)."""
        return self.key(f"tg_bot:language:{chat_id}:{telegram_user_id}")

    # The helpers below take the logical (unprefixed) stream name. The contract names
    # (`<stream>:dead`, `done:<stream>:<id>`) keep their slots; the queue's own keys are in
    # the stream's slot, so its scripts and transactions stay in one slot on a cluster.

    def dead(self, stream: str) -> str:
        return self.key(f"{stream}:dead")

    def done(self, stream: str, message_id: str) -> str:
        return self.key(f"done:{stream}:{message_id}")

    def attempts(self, stream: str, entry_id: str) -> str:
        return self.tagged(self.stream(stream), f"attempts:{entry_id}")

    def last_error(self, stream: str, entry_id: str) -> str:
        return self.tagged(self.stream(stream), f"error:{entry_id}")

    def chat_lock(self, stream: str, chat: str) -> str:
        return self.tagged(self.stream(stream), f"lock:chat:{chat}")

    def chat_backlog(self, stream: str) -> str:
        """Every chat's registered entries of the stream: one sorted set, members
        `<chat>|<padded entry id>` (a chat never holds `|`), read per chat by lex range."""
        return self.tagged(self.stream(stream), "backlog")

    def fire_claim(self, stream: str, job_id: str, scheduled_for: str) -> str:
        """A fire of a job was published to `stream` (unprefixed): set with its XADD, in the
        stream's slot."""
        return self.tagged(self.stream(stream), f"cron:fired:{job_id}:{scheduled_for}")

    def web_chat(self, visitor: str) -> str:
        """A web chat visitor's conversation: the events their page reads (a stream)."""
        return self.key(f"channels:web:{visitor}")

    def web_chat_sent(self, message_id: str) -> str:
        """Set once an answer is in its visitor's conversation (a redelivery adds nothing)."""
        return self.key(f"channels:web:sent:{message_id}")

    def email_cursor(self, account: str) -> str:
        """The e-mail channel's place in its mailbox: `<UIDVALIDITY>:<last UID handled>`."""
        return self.key(f"channels:email:cursor:{account}")

    def email_mail(self, message_id: str) -> str:
        """Where a queued mail is in the mailbox (`uidvalidity`, `uid`), by the queued
        message's id (its answer's correlation), to flag it answered once answered."""
        return self.key(f"channels:email:mail:{message_id}")

    def email_thread(self, thread: str) -> str:
        """An e-mail conversation's thread (a hash of its address and root): its subject,
        References chain and the buttons of our last mail in it."""
        return self.key(f"channels:email:thread:{thread}")

    def email_sent(self, message_id: str) -> str:
        """Set once the answer with this id went out by SMTP (a redelivery sends nothing)."""
        return self.key(f"channels:email:sent:{message_id}")

    def api_message(self, message_id: str) -> str:
        """Hash of a message an API client sent (`channels/src/adapters/api`): whose it is,
        how it is answered (waited for or by webhook), its state and its answer."""
        return self.key(f"channels:api:message:{message_id}")

    def api_answer_events(self, message_id: str) -> str:
        """The drafts and the answer of an API message as they come (a stream): what a
        waiting `/v1/chat/completions` reads, on whichever replica it waits."""
        return self.key(f"channels:api:events:{message_id}")

    def api_buttons(self, person: str) -> str:
        """The buttons under the last answer to an API client's person (`<client>:<user>`):
        a message whose whole text is one's label presses it."""
        return self.key(f"channels:api:buttons:{person}")

    def api_file(self, file_id: str) -> str:
        """A file an API client uploaded (`POST /api/v1/files`): its blob, type and name,
        for as long as the blob is kept."""
        return self.key(f"channels:api:file:{file_id}")

    def api_client_window(self, client_id: str) -> str:
        """An API client's requests of the last minute (a sorted set, as a person's)."""
        return self.key(f"channels:api:window:{client_id}")

    def api_client_notice(self, client_id: str) -> str:
        """Set while an API client is over its per-minute limit (the limit script's mark)."""
        return self.key(f"channels:api:notice:{client_id}")

    def api_client_today(self, client_id: str, day: str) -> str:
        """An API client's requests on a UTC day, for its daily limit."""
        return self.key(f"channels:api:day:{client_id}:{day}")

    def channel_message_seen(self, message_id: str) -> str:
        """Set once the channels service queued the message with this id (a retried webhook
        or a mail read again queues nothing)."""
        return self.key(f"channels:seen:{message_id}")

    def whatsapp_window(self, account: str, wa_id: str) -> str:
        """Set while WhatsApp's 24-hour customer-service window with `wa_id` is open on the
        business number `account` (its value: the last inbound message's time); it expires
        when the window closes."""
        return self.key(f"whatsapp:window:{account}:{wa_id}")

    def whatsapp_sent(self, wamid: str) -> str:
        """Hash of a message the channels service sent to WhatsApp: our answer's id, the
        latest delivery status WhatsApp reported for it, and for a reminder its recipient and
        text (sent again as the template should WhatsApp report it outside the window)."""
        return self.key(f"whatsapp:sent:{wamid}")

    def whatsapp_part(self, message_id: str, index: int) -> str:
        """Set once part `index` of an answer went out, so a retried answer sends the rest."""
        return self.key(f"whatsapp:part:{message_id}:{index}")

    def whatsapp_answered(self, wamid: str) -> str:
        """Set once the channels service answered a message it does not queue (a sticker),
        so a redelivered webhook is answered once."""
        return self.key(f"whatsapp:answered:{wamid}")

    def slack_event_seen(self, team: str, event_id: str) -> str:
        """Set once a Slack event was taken in (a retried delivery is answered 200 at once)."""
        return self.key(f"channels:slack:event:{team}:{event_id}")

    def slack_pace(self, channel_chat_id: str) -> str:
        """When the next post to a Slack channel may go (Slack's about one a second each)."""
        return self.key(f"channels:slack:pace:{channel_chat_id}")

    def slack_posted(self, message_id: str, part: int) -> str:
        """Set once part `part` of an answer was posted, so a retried answer skips it."""
        return self.key(f"channels:slack:posted:{message_id}:{part}")

    def cron_unrecorded_of(self, stream: str) -> str:
        """Hash of fires published to `stream` and not yet recorded in rest_service
        (cron_service), in the stream's slot: written with the fire's XADD."""
        return self.tagged(self.stream(stream), "cron:unrecorded")

    @property
    def cron_replicas(self) -> str:
        """Sorted set of live cron_service replicas, scored by when their heartbeat runs out."""
        return self.key("cron:replicas")

    def cron_recording(self, stream: str, fire_key: str) -> str:
        """Held by the cron_service instance recording this fire, so others leave it; beside
        the fire's unrecorded hash (`stream` unprefixed), which it is deleted with."""
        return self.tagged(self.stream(stream), f"cron:recording:{fire_key}")

    def oauth_state(self, state: str) -> str:
        return self.key(f"gcal:oauth_state:{state}")

    def weather_cache(self, location: str, days: int) -> str:
        return self.key(f"weather:{location.lower()}:{days}")
