"""The bodies that cross between services: rest_service's answers as its clients read them,
and the request bodies its clients send.

Written once, here: `RestClient` parses every answer into these frozen models (real
`datetime`, `UUID` and enum types), the services read attributes, and rest_service
imports the enums (and serves the config snapshot) from this module.
`common/tests/test_wire_contract.py` compares each model with rest_service's OpenAPI
schema, so a drift fails the suite. Fields a newer server adds are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, WithJsonSchema

from common.features.experiments import pick
from common.features.mcp_servers import SERVER_NAME
from common.features.mcp_servers import SETTING as MCP_SETTING
from common.infrastructure.channels import Channel


class AssistantType(StrEnum):
    llm = "llm"
    openai_api = "openai_api"


class ToolType(StrEnum):
    calendar = "calendar"
    reminder = "reminder"
    time = "time"
    weather = "weather"
    sub_assistant = "sub_assistant"
    remember = "remember"
    web_search = "web_search"
    read_page = "read_page"
    mcp = "mcp"
    knowledge = "knowledge"
    catalogue = "catalogue"
    contact = "contact"
    lead = "lead"
    handoff = "handoff"
    tasks = "tasks"
    draw = "draw"
    mail = "mail"


class MessageRole(StrEnum):
    system = "system"
    user = "user"
    assistant = "assistant"
    tool = "tool"


class CronJobType(StrEnum):
    reminder = "reminder"
    assistant_prompt = "assistant_prompt"


class CronJobStatus(StrEnum):
    active = "active"
    paused = "paused"
    done = "done"
    cancelled = "cancelled"
    missed = "missed"


class TaskPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"


#: Listing order: high first.
PRIORITY_RANK = {TaskPriority.high: 0, TaskPriority.normal: 1, TaskPriority.low: 2}


class TaskStatus(StrEnum):
    open = "open"
    done = "done"


class PairingStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class RunOutcome(StrEnum):
    on_time = "on_time"
    late = "late"
    missed = "missed"
    failed = "failed"


class BotChannel(StrEnum):
    """Where a bot talks. tg_bot runs the `telegram` ones; the others wait for their channel."""

    telegram = "telegram"
    whatsapp = "whatsapp"
    slack = "slack"
    email = "email"
    web = "web"


class WireModel(BaseModel):
    """Frozen, so a body read once cannot change under its readers; `from_attributes` lets
    rest_service build one from its own rows."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)


class User(WireModel):
    id: UUID
    #: None for a person who speaks through other channels only.
    telegram_id: int | None
    username: str | None
    first_name: str | None
    language: str | None
    timezone: str | None
    preferred_model: str | None
    blocked: bool
    #: `/voice on`: answers come as voice messages too.
    voice_replies: bool = False
    #: An alert this many minutes before each calendar event; 0: none.
    event_alert_minutes: int = 0
    created_at: datetime
    updated_at: datetime


class TelegramUser(User):
    """A user found or made by their Telegram id, which is therefore set."""

    telegram_id: int


class Thread(WireModel):
    id: UUID
    #: The conversation key: a user id, or `chat:<chat_id>` for a group.
    user_id: str
    assistant_id: UUID
    thread_id: str
    last_used: datetime
    created_at: datetime
    updated_at: datetime


class MessageIn(WireModel):
    """One message to append; only `role` is required."""

    role: MessageRole
    content: str | None = None
    author: str | None = None
    user_id: UUID | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int | None = None
    dedup_key: str | None = None
    #: The experiment arm that answered (an assistant's message in a running experiment).
    experiment_variant_id: UUID | None = None


class MessageBatchIn(WireModel):
    """`POST /api/threads/{thread_id}/messages` with several: stored in one transaction."""

    messages: list[MessageIn]


class UserIn(WireModel):
    """`POST /api/users/`: the user of a Telegram id, made when missing."""

    telegram_id: int
    username: str | None = None
    first_name: str | None = None
    language: str | None = None


class IdentityIn(WireModel):
    """`POST /api/users/by-identity`: the user of a channel's sender, made when missing."""

    channel: Channel
    external_id: str
    username: str | None = None
    first_name: str | None = None
    language: str | None = None
    display_name: str | None = None


class Identity(WireModel):
    """One of a person's senders: Telegram's is their `telegram_id` as text."""

    channel: Channel
    external_id: str
    display_name: str | None
    created_at: datetime


class LinkCode(WireModel):
    """A one-time code as shown (`ABCD-EFGH`), and when it stops working."""

    code: str
    expires_at: datetime
    ttl_seconds: int


class LinkIn(WireModel):
    """`POST /api/users/link`: the sender of `code` joins the code's issuer."""

    code: str
    channel: Channel
    external_id: str


class ApiClient(WireModel):
    """An outside program with a live API key (`POST /api/api-clients/authenticate`): what
    the channels service needs to serve it."""

    id: UUID
    name: str
    webhook_url: str | None = None
    #: Assistant names it may talk to besides the secretary.
    allowed_assistants: list[str] = []
    per_minute_limit: int = 0
    daily_limit: int = 0


class Linked(WireModel):
    """The person after a link: the issuer, every channel they speak through, and the user
    merged into them (None when the sender was theirs already or new)."""

    user: User
    identities: list[Identity]
    merged_user_id: UUID | None


class UserChanges(WireModel):
    """`PUT /api/users/{user_id}`: a partial update; only the fields set are sent."""

    username: str | None = None
    first_name: str | None = None
    language: str | None = None
    timezone: str | None = None
    preferred_model: str | None = None
    blocked: bool | None = None
    voice_replies: bool | None = None
    event_alert_minutes: int | None = None


class FactIn(WireModel):
    """`POST /api/users/{user_id}/facts`."""

    text: str


class TaskIn(WireModel):
    """`POST /api/users/{user_id}/tasks`; fields left None are not sent (the defaults hold)."""

    title: str
    notes: str | None = None
    deadline: datetime | None = None
    priority: TaskPriority | None = None
    #: The reminder job made for the deadline (the user's own).
    reminder_job_id: UUID | None = None
    idempotency_key: str | None = None


class TaskChanges(WireModel):
    """`PATCH /api/users/{user_id}/tasks/{task_id}`: only the fields set are sent; `null`
    clears notes, deadline or reminder."""

    title: str | None = None
    notes: str | None = None
    deadline: datetime | None = None
    priority: TaskPriority | None = None
    status: TaskStatus | None = None
    reminder_job_id: UUID | None = None


class ThreadKey(WireModel):
    """`POST /api/threads/`: a conversation's thread with an assistant."""

    #: The conversation key: a user's id, or `chat:<chat_id>` for a group.
    user_id: str
    assistant_id: UUID


class ThreadsReset(WireModel):
    """`POST /api/threads/reset`: new threads for a conversation (no assistant: all of them)."""

    user_id: str
    assistant_id: UUID | None = None


class MemoryQuery(WireModel):
    """Older messages found by search for a turn's long-term memory."""

    q: str
    limit: int = 5
    match: Literal["any", "all"] = "any"
    #: The question's embedding by `model`: messages near it in meaning are recalled too.
    vector: list[float] | None = None
    model: str | None = None


class EmbeddingIn(WireModel):
    """One stored message's vector, named by the key it was stored with."""

    dedup_key: str
    vector: list[float]


class EmbeddingBatch(WireModel):
    """`PUT /api/threads/{thread_id}/embeddings`: vectors of one model for stored messages."""

    model: str
    items: list[EmbeddingIn]


class FactEmbeddingIn(WireModel):
    """One profile fact's vector."""

    fact_id: UUID
    vector: list[float]


class FactEmbeddingBatch(WireModel):
    """`PUT /api/users/{user_id}/facts/embeddings`: vectors of one model for a user's facts."""

    model: str
    items: list[FactEmbeddingIn]


class TurnBackgroundQuery(WireModel):
    """`POST /api/threads/context`: what one turn needs, in one request."""

    user_id: str
    assistant_id: UUID
    profile_id: UUID | None = None
    limit: int = 20
    max_chars: int | None = None
    facts: bool = False
    memory: MemoryQuery | None = None


class CredentialsIn(WireModel):
    """`PUT /api/users/{user_id}/calendar-credentials` (and `.../pending`)."""

    credentials: dict[str, Any]
    valid: bool = True


class DefaultAccountIn(WireModel):
    """`PUT /api/users/{user_id}/calendar-accounts/default`."""

    account: str


class PendingMaxAge(WireModel):
    """`POST .../calendar-credentials/pending/confirm` and `.../pending/expire`: a pending
    connection older than this is expired."""

    max_age_seconds: int


class CronJobIn(WireModel):
    """`POST /api/cron-jobs/`; fields left None are not sent (the server's defaults hold)."""

    name: str
    type: CronJobType = CronJobType.reminder
    user_id: UUID | None = None
    chat_id: int
    text: str | None = None
    prompt: str | None = None
    run_at: datetime | None = None
    cron_expression: str | None = None
    timezone: str | None = None
    idempotency_key: str | None = None
    timezone_assumed: bool | None = None
    #: The bots row whose conversation made it (decision 0048); None: the default bot.
    bot_id: UUID | None = None
    #: The channel it fires in and that channel's conversation id; None: Telegram.
    channel: Channel | None = None
    channel_chat_id: str | None = None
    #: An urgent reminder repeats every `repeat_every_minutes` until Done, `max_repeats` at most.
    urgent: bool | None = None
    repeat_every_minutes: int | None = None
    max_repeats: int | None = None


class CronJobChanges(WireModel):
    """`PUT /api/cron-jobs/{job_id}`: a partial update; only the fields set are sent."""

    name: str | None = None
    text: str | None = None
    prompt: str | None = None
    run_at: datetime | None = None
    cron_expression: str | None = None
    timezone: str | None = None
    timezone_assumed: bool | None = None
    status: CronJobStatus | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    urgent: bool | None = None
    repeat_every_minutes: int | None = None
    max_repeats: int | None = None
    repeating_for: datetime | None = None
    repeats_sent: int | None = None


class CronJobDoneIn(WireModel):
    """`POST /api/cron-jobs/{job_id}/done`: the fire Done was pressed under (None: unknown)."""

    occurrence: datetime | None = None


class CronJobRunIn(WireModel):
    """`POST /api/cron-jobs/{job_id}/runs`: one per job and scheduled time."""

    scheduled_for: datetime
    outcome: RunOutcome
    delivered_at: datetime | None = None
    error: str | None = None
    message_id: str | None = None
    #: An urgent reminder's repeat number (0: a fire of its own).
    repeat: int = 0


class ToolInvocationIn(WireModel):
    """`POST /api/tool-invocations/`."""

    tool_name: str
    ok: bool
    duration_ms: int
    tool_id: UUID | None = None
    assistant_id: UUID | None = None
    user_id: UUID | None = None
    message_id: str | None = None
    error: str | None = None


class Message(WireModel):
    id: int
    thread_id: str
    conversation_key: str
    role: MessageRole
    author: str | None
    user_id: UUID | None
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int | None
    dedup_key: str | None
    experiment_variant_id: UUID | None = None
    created_at: datetime


class ThreadSummary(WireModel):
    """A thread's running summary: the assistant's own notes on the turns before its recent
    window, up to and including `covers_message_id`."""

    thread_id: str
    conversation_key: str
    content: str
    covers_message_id: int
    created_at: datetime
    updated_at: datetime


class SummaryBacklog(WireModel):
    """The stored summary and, oldest first, the messages it does not cover yet that are
    older than the recent window."""

    summary: ThreadSummary | None
    messages: list[Message]


class SummaryWrite(WireModel):
    """`PUT /api/threads/{thread_id}/summary`: stored only while the stored summary still
    covers up to `previous_covers_message_id` (None: there is none yet)."""

    content: str
    covers_message_id: int
    previous_covers_message_id: int | None = None


class SearchHit(Message):
    rank: float


#: A profile fact's longest text, and the most facts one user keeps (rest_service's rules).
PROFILE_FACT_MAX_CHARS = 300
PROFILE_FACTS_MAX = 50


def fact_key(text: str) -> str:
    """What makes two facts the same: their words, casefolded ("Anna" is "anna")."""
    return " ".join(text.split()).casefold()


class CatalogueItem(WireModel):
    """A service or product of a business assistant's catalogue (or of every assistant's);
    `price` exactly as stored, with its currency's decimals."""

    id: UUID
    assistant_id: UUID | None = None
    sku: str | None = None
    name: str
    description: str = ""
    #: A JSON string on the wire ("1999.90"): never a float.
    price: Annotated[Decimal, WithJsonSchema({"type": "string"})]
    currency: str
    duration_minutes: int | None = None
    available: bool = True
    stock: int | None = None
    tags: list[str] = []
    is_active: bool = True
    created_at: datetime
    updated_at: datetime


class Contact(WireModel):
    """A customer's details for one business, with the consent they agreed to; the phone
    in E.164."""

    id: UUID
    user_id: UUID
    assistant_id: UUID
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    consent_text: str
    consented_at: datetime
    source: str | None = None
    created_at: datetime
    updated_at: datetime


class ContactIn(WireModel):
    """A save of the sender's contact: fields left unset keep their stored values."""

    name: str | None = None
    phone: str | None = None
    email: Annotated[str, WithJsonSchema({"type": "string", "format": "email"})] | None = None
    consent_text: str
    source: str | None = None


class InterestIn(WireModel):
    """A conversation showed interest in these items (catalogue ids or names)."""

    user_id: UUID
    assistant_id: UUID
    conversation_key: str
    items: list[str] = []
    note: str = ""
    channel: str = "telegram"
    bot: str | None = None
    start_payload: str | None = None


class FeedbackIn(WireModel):
    """A user's 👍 (1) or 👎 (-1) on the stored answer `message_key` (its history
    `dedup_key`); `comment` left unset keeps what the user said before."""

    message_key: str
    user_id: UUID
    assistant_id: UUID
    rating: Literal[1, -1]
    comment: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    bot_id: UUID | None = None


class Feedback(WireModel):
    """A stored rating: one per answer and user."""

    id: UUID
    assistant_id: UUID
    user_id: UUID
    conversation_key: str
    message_key: str
    chat_message_id: int | None = None
    rating: int
    comment: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    bot_id: UUID | None = None
    created_at: datetime
    updated_at: datetime


class Lead(WireModel):
    """The open lead of a customer with a business: what was asked about and its state."""

    id: UUID
    assistant_id: UUID
    user_id: UUID
    contact_id: UUID | None = None
    conversation_key: str
    items: list[dict[str, Any]] = []
    channel: str
    bot: str | None = None
    start_payload: str | None = None
    status: Literal["new", "in_progress", "won", "lost"]
    owner: str | None = None
    notes: str = ""
    created_at: datetime
    updated_at: datetime


class HandoffIn(WireModel):
    """`POST /api/handoffs/`: a conversation goes to the operators."""

    user_id: UUID
    assistant_id: UUID
    bot_id: UUID | None = None
    conversation_key: str
    chat_id: int
    channel: str = "telegram"
    channel_chat_id: str | None = None
    reply_stream: str = "queue:to_telegram"
    language: str | None = None
    summary: str = ""


class Handoff(WireModel):
    """A conversation with the operators: waiting for one, active (one answered), returned
    to the bot or expired (no one answered in time)."""

    id: UUID
    bot_id: UUID | None = None
    assistant_id: UUID
    user_id: UUID
    conversation_key: str
    chat_id: int
    channel: str
    channel_chat_id: str | None = None
    language: str | None = None
    operator_chat_id: int
    status: Literal["waiting", "active", "returned", "expired"]
    summary: str
    requested_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    returned_at: datetime | None = None
    returned_by: str | None = None
    created_at: datetime
    updated_at: datetime


class HandoffReply(WireModel):
    """`POST /api/handoffs/{id}/reply`: an operator's words for the customer. `key` names the
    reply (the operator chat's message) so a retry sends it once."""

    text: str
    author: str | None = None
    key: str | None = None


class HandoffReturn(WireModel):
    """`POST /api/handoffs/{id}/return`: who handed the conversation back."""

    by: str | None = None


class ProfileFact(WireModel):
    """Something a user told the assistant about themselves; theirs alone."""

    id: UUID
    user_id: UUID
    text: str
    created_at: datetime


#: A task's title and notes at most (rest_service refuses longer), and the most a user keeps.
TASK_TITLE_MAX_CHARS = 200
TASK_NOTES_MAX_CHARS = 2000
TASKS_MAX = 500
#: Google's task ids are opaque; this is what we keep of one.
GOOGLE_ID_MAX_CHARS = 1024


class Task(WireModel):
    """A to-do of one user's; listed by priority, then deadline (none last)."""

    id: UUID
    user_id: UUID
    title: str
    notes: str | None
    deadline: datetime | None
    priority: TaskPriority
    status: TaskStatus
    #: The reminder made for the deadline; completing or deleting the task cancels it.
    reminder_job_id: UUID | None
    completed_at: datetime | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    #: The Google task it mirrors (Google Tasks sync), the version of it last in step, and
    #: this task's `updated_at` then; a later `updated_at` is a change still to send.
    google_task_id: str | None = None
    google_updated: str | None = None
    google_synced_at: datetime | None = None


class TaskGoogleLink(WireModel):
    """`PUT /api/users/{user_id}/tasks/{task_id}/google`: in step with that Google task's
    version as of the task's `synced_at` (its `updated_at` the sync saw)."""

    google_task_id: str
    google_updated: str
    synced_at: datetime


class TaskSync(WireModel):
    """`GET|PUT /api/users/{user_id}/task-sync`: a user's Google Tasks sync."""

    enabled: bool
    #: Google's `updated` read up to (the next pull asks from there); None: read everything.
    updated_min: str | None = None
    #: Google tasks whose local task was deleted, still to delete there.
    deletions: list[str] = []


#: The most hits one knowledge search returns (rest_service's rule).
KNOWLEDGE_SEARCH_MAX = 20


class KnowledgeHit(WireModel):
    """A knowledge article that matches a search: its title, the passage that matched (the
    words found marked `**so**`) and how well it matched, best first."""

    id: UUID
    title: str
    excerpt: str
    source: str
    language: str | None
    assistant_id: UUID | None
    rank: float


class UserUsage(WireModel):
    """A user's own figures since `since`: messages they sent, tokens of the answers they
    got, tool calls made for them, pictures drawn for them."""

    since: datetime
    messages: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    #: Pictures drawn for them (`draw` calls that made one; each also counts as a tool call).
    images: int = 0


class TurnBackground(WireModel):
    """A turn's starting point in one request; no thread for a blocked profile. `facts`:
    the profile's facts, asked for in private chats only."""

    thread: Thread | None
    profile: User | None
    recent: list[Message]
    memory: list[SearchHit]
    facts: list[ProfileFact] = []
    #: The thread's running summary of the turns before the window (None: none yet).
    summary: ThreadSummary | None = None
    #: Of `facts`, those nearest in meaning to the memory query, best first (given its
    #: vector), and those without a vector of its model yet.
    recalled_facts: list[UUID] = []
    unembedded_facts: list[UUID] = []


class ProviderRef(WireModel):
    id: UUID
    name: str
    base_url: str


class ModelCapability(StrEnum):
    """What a model can do: the transcription, speech and image models are the active
    models with that capability; pictures go only to a model with `vision`."""

    chat = "chat"
    vision = "vision"
    transcription = "transcription"
    speech = "speech"
    #: Makes pictures (`POST /images/generations`): the `draw` tool.
    image = "image"
    #: Turns text into vectors (`POST /embeddings`): recall by meaning.
    embedding = "embedding"


class LLMModel(WireModel):
    id: UUID
    #: The provider's model name: what goes into a chat completion request.
    name: str
    provider_model_name: str
    display_name: str | None
    provider_id: UUID
    provider: ProviderRef
    is_default: bool
    is_fallback: bool
    is_active: bool
    capabilities: list[ModelCapability] = [ModelCapability.chat]
    #: Money per million input and output tokens (None: not priced).
    input_price: float | None = None
    output_price: float | None = None
    created_at: datetime
    updated_at: datetime


class SnapshotTool(WireModel):
    id: UUID
    name: str
    tool_type: ToolType
    description: str
    input_schema: dict[str, Any]
    #: For a sub_assistant tool: the assistant that answers it.
    sub_assistant_id: UUID | None
    #: For an mcp tool: where its server is (`mcp_config_error` checks it).
    config: dict[str, Any] | None = None


def mcp_config_error(
    config: Any, stdio_servers: Collection[str] | None = None
) -> tuple[str, str] | None:
    """The field and the reason an mcp tool's config is unusable, else None: the rule
    rest_service refuses on write and the assistant relies on. A stdio server is named,
    never given as a command; with `stdio_servers` (the names in MCP_STDIO_SERVERS) an
    unknown name is refused too."""
    if not isinstance(config, dict):
        return "config", 'an mcp tool needs {"transport": "http"|"stdio", ...}'
    for key in _COMMAND_KEYS:
        if key in config:
            return f"config.{key}", (
                "is not accepted: a command runs only as the operator names it in "
                f'{MCP_SETTING}; refer to one by name, {{"transport": "stdio", "server": "<name>"}}'
            )
    transport = config.get("transport")
    if transport == "http":
        url = config.get("url")
        if not isinstance(url, str) or not _HTTP_URL.fullmatch(url):
            return "config.url", "must be an http(s) URL with a host"
        return None
    if transport == "stdio":
        server = config.get("server")
        if not isinstance(server, str) or not SERVER_NAME.fullmatch(server):
            return "config.server", (
                f"must name a stdio server of {MCP_SETTING} (a-z, 0-9, - and _; 1-64 characters)"
            )
        if stdio_servers is not None and server not in stdio_servers:
            known = ", ".join(sorted(stdio_servers)) or "none"
            return "config.server", f"{MCP_SETTING} names no server {server!r} (it names: {known})"
        return None
    return "config.transport", 'must be "http" or "stdio"'


def mcp_writing_error(config: Any) -> tuple[str, str] | None:
    """`"writing"` of an mcp tool's config, when present, lists the server's functions that
    store or remove something (after outside content they wait for the user's Yes): the
    field and the reason when it is not a list of names, else None."""
    writing = config.get("writing", []) if isinstance(config, dict) else []
    if not isinstance(writing, list) or not all(isinstance(n, str) and n for n in writing):
        return "config.writing", "must be a list of the server's function names"
    return None


#: Keys that would say how to start a process: only the operator's setting does.
_COMMAND_KEYS = ("command", "args", "env", "cwd")
_HTTP_URL = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


class SnapshotAssistant(WireModel):
    id: UUID
    name: str
    is_secretary: bool
    model: str | None
    instructions: str
    assistant_type: AssistantType
    openai_assistant_id: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    tools: tuple[SnapshotTool, ...]
    #: 👍 / 👎 under its answers (a snapshot of an older server has none).
    feedback_buttons: bool = False


class SnapshotBot(WireModel):
    """An active bot as the assistant needs it: which assistant answers its conversations."""

    id: UUID
    name: str
    assistant_id: UUID


class SnapshotVariant(WireModel):
    """One arm of a running experiment: its overrides of the assistant (none for control)."""

    id: UUID
    name: str
    share: int
    is_control: bool
    instructions: str | None
    model: str | None


class SnapshotExperiment(WireModel):
    """A running experiment: its assistant answers each person with one of `variants`."""

    id: UUID
    assistant_id: UUID
    #: In their order: the hash walks their shares in it.
    variants: tuple[SnapshotVariant, ...]

    def variant_for(self, user_id: UUID | str) -> SnapshotVariant:
        return pick(self.variants, self.id, user_id)


class ConfigSnapshot(WireModel):
    """`GET /api/config`: what the assistant runs on (rest_service's response model too)."""

    version: int
    secretary: SnapshotAssistant | None
    assistants: tuple[SnapshotAssistant, ...]
    models: tuple[LLMModel, ...]
    #: The active bots (a snapshot of an older server has none: every message is the secretary's).
    bots: tuple[SnapshotBot, ...] = ()
    #: The running experiments, at most one per assistant.
    experiments: tuple[SnapshotExperiment, ...] = ()

    def variant_for(self, assistant_id: UUID, user_id: UUID | str | None) -> SnapshotVariant | None:
        """The person's arm of the assistant's running experiment (None: none runs, or
        nobody to assign, as for a scheduled prompt without a person)."""
        if user_id is None:
            return None
        found = next((e for e in self.experiments if e.assistant_id == assistant_id), None)
        return found.variant_for(user_id) if found is not None else None

    def speaker(
        self, bot_id: UUID | None, assistant: str | None = None
    ) -> SnapshotAssistant | None:
        """Who answers a message: the assistant it names (`IncomingMessage.assistant`), else
        the secretary for the default bot, else the bot's assistant (None while the named one,
        the bot or its assistant is inactive or unknown: nobody is configured to answer)."""
        if assistant is not None:
            return next((a for a in self.assistants if a.name == assistant), None)
        if bot_id is None:
            return self.secretary
        bot = next((b for b in self.bots if b.id == bot_id), None)
        if bot is None:
            return None
        return next((a for a in self.assistants if a.id == bot.assistant_id), None)

    def model_with(self, capability: ModelCapability) -> LLMModel | None:
        """The model that does `capability` (the transcription model, the speech model): the
        first active one that has it, the default first; `models` holds only active ones."""
        return next((m for m in self.models if capability in m.capabilities), None)


class Bot(WireModel):
    """`GET /api/bots/`: a bot without its secret (the token is read one bot at a time)."""

    id: UUID
    name: str
    channel: BotChannel
    telegram_bot_id: int | None
    telegram_username: str | None
    assistant_id: UUID
    greeting: str | None
    #: Telegram user ids allowed to talk to it; empty: everyone.
    allowed_user_ids: list[int]
    is_active: bool
    #: The Telegram group its conversations are handed to people in; None: no operators.
    operator_chat_id: int | None = None
    operator_wait_minutes: int = 10
    token_masked: str | None
    created_at: datetime
    updated_at: datetime


class CalendarCredentials(WireModel):
    user_id: UUID
    credentials: dict[str, Any]
    valid: bool
    #: "active" (what the calendar reads) or "pending" (waits for the owner's confirmation).
    status: str
    pending_since: datetime | None
    #: The Google account's address, lower-cased ("" when unknown).
    account: str = ""
    #: The account new events go to (one of a user's active rows).
    is_default: bool = False
    created_at: datetime
    updated_at: datetime


class CronJob(WireModel):
    id: UUID
    name: str
    type: CronJobType
    user_id: UUID | None
    chat_id: int
    text: str | None
    prompt: str | None
    run_at: datetime | None
    cron_expression: str | None
    timezone: str
    #: The user had set no zone: setting one offers to move the job.
    timezone_assumed: bool
    status: CronJobStatus
    last_run_at: datetime | None
    next_run_at: datetime | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    #: The bot it fires through (a bots row); None: the default bot (an older server's too).
    bot_id: UUID | None = None
    #: Where it fires: an older server's jobs are all Telegram's.
    channel: Channel = Channel.TELEGRAM
    channel_chat_id: str | None = None
    #: Urgent: repeats every `repeat_every_minutes` until Done, `max_repeats` at most (an
    #: older server's jobs are not urgent).
    urgent: bool = False
    repeat_every_minutes: int = 5
    max_repeats: int = 6
    #: The occurrence the latest repeats are of, how many went out, and the occurrence Done
    #: was last pressed for.
    repeating_for: datetime | None = None
    repeats_sent: int = 0
    acknowledged_for: datetime | None = None


class CronJobRun(WireModel):
    id: int
    job_id: UUID
    scheduled_for: datetime
    delivered_at: datetime | None
    outcome: RunOutcome
    error: str | None
    message_id: str | None
    created_at: datetime
    #: An urgent reminder's repeat number (0: a fire of its own; an older server's runs).
    repeat: int = 0


class ToolInvocation(WireModel):
    id: int
    tool_name: str
    tool_id: UUID | None
    assistant_id: UUID | None
    user_id: UUID | None
    message_id: str | None
    duration_ms: int
    ok: bool
    error: str | None
    created_at: datetime


class PairingIn(WireModel):
    """`POST /api/pairings`: a stranger wrote to the bot; their pairing, made if missing."""

    telegram_id: int
    username: str | None = None
    first_name: str | None = None


class Pairing(WireModel):
    """A stranger's request to use a private bot: its code, and the owner's answer."""

    code: str
    telegram_id: int
    username: str | None = None
    first_name: str | None = None
    status: PairingStatus
    decided_at: datetime | None = None
    decided_by: str | None = None
    created_at: datetime
