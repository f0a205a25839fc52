"""assistant settings."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from common.features.mcp_servers import StdioServers
from common.infrastructure.settings import OpenMeteoSettings, ServiceSettings


class Settings(ServiceSettings, OpenMeteoSettings):
    default_port: ClassVar[int] = 8002
    service_name: ClassVar[str] = "assistant"

    #: Where a model runs while the configuration has no default model (with no key: keys
    #: live only in the provider rows, where the seed puts OPENAI_API_KEY, encrypted).
    openai_base_url: str = "https://api.openai.com/v1"
    default_model: str = "gpt-4o-mini"
    fallback_model: str = "gpt-4o"

    max_context_messages: int = Field(default=20, ge=1)
    max_context_length: int = Field(default=12_000, ge=100)
    long_term_memory_enabled: bool = True
    max_long_term_results: int = Field(default=5, ge=0)
    long_term_memory_length: int = Field(default=2_000, ge=0)
    #: The running summary (`turn/summary.py`): folded again once this many messages before
    #: the window are not in it yet; at most `summary_max_messages` of them in one go.
    summary_after_messages: int = Field(default=40, ge=1)
    summary_max_messages: int = Field(default=400, ge=1, le=1000)
    #: One summary per thread at a time across replicas; a holder that dies frees it then.
    summary_lock_seconds: float = Field(default=120.0, gt=0)

    assistant_concurrency: int = Field(default=16, ge=1)
    #: On SIGTERM the assistant stops reading and gives the turns in flight this long to
    #: finish (a normal turn's length); what is left is handed back to another replica. The
    #: manifests' terminationGracePeriodSeconds and compose's stop_grace_period add a margin.
    shutdown_grace_seconds: float = Field(default=30.0, gt=0)

    #: One LLM request; the SDK's own retries are off, `llm_max_attempts` is ours per model.
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1)
    llm_retry_base_seconds: float = Field(default=0.5, ge=0)
    llm_retry_max_seconds: float = Field(default=10.0, ge=0)
    #: The circuit breaker (services/llm_breaker.py): after this many failed attempts in a row
    #: within the window a model is skipped for the cool-down, then tried by one call. 0: off.
    llm_breaker_failures: int = Field(default=5, ge=0)
    llm_breaker_window_seconds: float = Field(default=60.0, gt=0)
    llm_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)

    #: Rounds of tool calls in one turn before the model must answer with what it has.
    max_tool_iterations: int = Field(default=5, ge=1)
    #: Tool calls one turn may run in all; calls beyond are refused to the model, not run.
    max_tool_calls_per_turn: int = Field(default=10, ge=1)
    #: LLM tokens (prompt + completion, as the provider reports) per user per UTC day; 0: off.
    llm_daily_token_budget: int = Field(default=200_000, ge=0)
    tool_timeout_seconds: float = Field(default=20.0, gt=0)
    #: How deep sub-assistants may call sub-assistants (the secretary is depth 0).
    sub_assistant_max_depth: int = Field(default=2, ge=0)
    sub_assistant_timeout_seconds: float = Field(default=120.0, gt=0)
    #: How often the calendars of users who want alerts before events are looked at.
    event_alert_interval_seconds: float = Field(default=60.0, ge=0.2)

    # live answers (the model's text streamed to tg_bot as drafts; off: one answer)
    stream_answers: bool = True
    #: Drafts of one answer: at most one per this many seconds (tg_bot throttles again).
    stream_publish_interval_seconds: float = Field(default=0.1, ge=0)
    # voice, pictures, documents (tg_bot refuses bigger files before they are queued)
    voice_max_seconds: int = Field(default=300, gt=0)
    document_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    #: A document's text given to the model is cut to this many characters.
    document_max_chars: int = Field(default=20_000, ge=1000)
    #: Documents and pictures are parsed in a child process (`file_worker.py`) with this much
    #: address space (MB) and this much time; a file over either is refused politely.
    document_parse_max_mb: int = Field(default=192, ge=128)
    document_parse_seconds: float = Field(default=20.0, gt=0)
    #: Files parsed at once. The assistant's memory limit (512Mi in the manifests) holds the
    #: assistant and this many children of DOCUMENT_PARSE_MAX_MB each.
    document_parse_concurrency: int = Field(default=2, ge=1)
    #: A picture with more pixels than this (declared or decoded) is refused unread.
    image_max_pixels: int = Field(default=40_000_000, ge=1_000_000)
    #: Pictures go to the model as JPEGs no side of which exceeds this.
    image_max_side: int = Field(default=1568, ge=256)
    #: The scaled pictures of one turn together; an album over it is refused politely.
    image_turn_max_bytes: int = Field(default=8 * 1024 * 1024, ge=256 * 1024)
    #: Voice replies longer than this many characters are sent as text only.
    speech_max_chars: int = Field(default=1_500, ge=1)
    #: What one picture the `draw` tool makes counts, in completion tokens: in the answer's
    #: usage and against `LLM_DAILY_TOKEN_BUDGET`; set it to a picture's price in your chat
    #: model's tokens.
    image_token_cost: int = Field(default=4_000, ge=0)

    # web answers (`web_search` through one provider, `read_page` behind the SSRF guard)
    web_search_provider: Literal["searxng", "brave", "tavily"] = "searxng"
    #: A SearXNG instance with the JSON format enabled (`search.formats: [html, json]`).
    searxng_url: str = ""
    brave_api_key: str = ""
    brave_search_url: str = "https://api.search.brave.com/res/v1/web/search"
    tavily_api_key: str = ""
    tavily_search_url: str = "https://api.tavily.com/search"
    web_search_max_results: int = Field(default=5, ge=1, le=20)
    web_search_timeout_seconds: float = Field(default=10.0, gt=0)
    #: `read_page`: one page's time in all, bytes read, characters of text given to the model.
    web_fetch_timeout_seconds: float = Field(default=10.0, gt=0)
    web_fetch_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    web_fetch_max_chars: int = Field(default=8_000, ge=500)
    web_fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    #: Comma-separated `host` or `host:port` the guard lets through though they are private;
    #: for tests and demos with local stand-ins only. Empty in any real deployment.
    web_fetch_allow_hosts: str = ""

    # MCP servers (clients/mcp.py): stdio ones only as named here, each started confined
    # (clients/mcp_stdio.py); HTTP ones only on addresses `read_page` may reach.
    mcp_stdio_servers: StdioServers = Field(default_factory=dict)
    #: The user (name or uid) stdio servers run as when the assistant runs as root; unset,
    #: a root assistant starts none.
    mcp_stdio_user: str = ""
    #: One stdio server's address space (RLIMIT_AS), CPU seconds (RLIMIT_CPU), and the bytes
    #: read from it in one request before it is stopped.
    mcp_stdio_memory_mb: int = Field(default=1024, ge=32)
    mcp_stdio_cpu_seconds: int = Field(default=30, ge=1)
    mcp_stdio_max_output_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    #: Comma-separated `host` or `host:port` of HTTP MCP servers allowed on private
    #: addresses (a server beside the assistant); every other host must be public.
    mcp_http_allow_hosts: str = ""

    weather_cache_seconds: int = Field(default=600, ge=0)
    weather_timeout_seconds: float = Field(default=10.0, gt=0)

    #: The config version poll, the safety net under `config:updated`.
    config_poll_seconds: float = Field(default=5.0, gt=0)
    #: While rest_service is down, how long a message waits before it is tried again.
    rest_retry_seconds: float = Field(default=2.0, gt=0)

    #: The stream queue: a message idle this long is claimed from a dead consumer; it must
    #: exceed the slowest turn, which the chat lock's heartbeat makes safe to undercut.
    queue_claim_idle_ms: int = Field(default=30_000, ge=100)
    queue_claim_interval_seconds: float = Field(default=5.0, gt=0)
    queue_lock_ttl_ms: int = Field(default=15_000, ge=100)
    queue_max_deliveries: int = Field(default=5, ge=1)
