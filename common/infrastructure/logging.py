"""Structured logging: JSON or console lines, one `correlation_id` through a message's journey."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

from common.infrastructure.settings import ServiceSettings

_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]

#: Libraries whose INFO lines are noise next to ours.
_QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "aiohttp.access", "apscheduler")


def _formatter(json_lines: bool) -> logging.Formatter:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


#: The service whose code runs in this context (bound where the service starts).
_SERVICE: ContextVar[str | None] = ContextVar("logging_service", default=None)
#: Each service's LOG_LEVEL; several differ where services share a process.
_LEVELS: dict[str, int] = {}


class _ServiceLevel(logging.Filter):
    """A line passes at the level of the service it comes from: the root logger is at the
    lowest of them, so one service's DEBUG does not open the others' debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        service = _SERVICE.get()
        return service is None or record.levelno >= _LEVELS.get(service, logging.NOTSET)


def bind_service(service: str) -> None:
    """Every line logged in this context (and the tasks it starts) names `service`."""
    _SERVICE.set(service)
    structlog.contextvars.bind_contextvars(service=service)


def configure_logging(settings: ServiceSettings, service: str) -> None:
    """Route structlog and stdlib logging through one set of handlers, at `service`'s level."""
    json_lines = settings.log_format == "json" if settings.log_format else not sys.stderr.isatty()
    root = logging.getLogger()
    levels = {**_LEVELS, service: logging.getLevelName(settings.log_level)}
    reset_logging()
    _LEVELS.update(levels)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_formatter(json_lines))
    root.addHandler(console)
    if settings.log_file:
        rotating = logging.handlers.RotatingFileHandler(
            settings.log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        rotating.setFormatter(_formatter(json_lines=True))
        root.addHandler(rotating)
    for handler in root.handlers:
        handler.addFilter(_ServiceLevel())
    root.setLevel(min(_LEVELS.values()))
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))

    # A logger is cached on first use with the processor list of that moment. Refilling the
    # one list in place (as structlog.testing.capture_logs does) keeps every logger cached
    # under an earlier configuration on the current chain, so a reconfiguration (a service
    # started in-process, a test) never leaves module loggers writing to an old one.
    processors = structlog.get_config()["processors"]
    processors[:] = [
        # First, so a line below the level costs one check, not the whole chain.
        structlog.stdlib.filter_by_level,
        *_SHARED_PROCESSORS,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    bind_service(service)


def reset_logging() -> None:
    """Close and remove every root handler (a reconfiguration, or the end of a test)."""
    _LEVELS.clear()
    root = logging.getLogger()
    for handler in list(root.handlers):
        handler.close()
        root.removeHandler(handler)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


@contextmanager
def correlation(correlation_id: str, **extra: object) -> Iterator[None]:
    """Bind `correlation_id` (and any extra keys) to every log line in this context."""
    tokens = structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **extra)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


# -- the correlation id over HTTP ------------------------------------------------------------

#: The header that carries a correlation id between our services (and back in answers).
REQUEST_ID_HEADER = "X-Request-ID"
#: Where the request id waits in a request's state for answers written outside middleware.
REQUEST_ID_STATE = "request_id"
#: What an id from outside may be: short, and nothing a log reader or header could misread.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def safe_request_id(value: str | None) -> str | None:
    """`value` when it is a usable id (a message id, a UUID, an id from a proxy), else None."""
    return value if value is not None and _SAFE_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    """The id bound by `correlation(...)` (a queue entry's message id, an HTTP request's id)."""
    found = structlog.contextvars.get_contextvars().get("correlation_id")
    return safe_request_id(found) if isinstance(found, str) else None


def correlation_headers() -> dict[str, str]:
    """The header an outgoing call to one of our services sends: the current id, if any."""
    found = current_correlation_id()
    return {REQUEST_ID_HEADER: found} if found else {}


#: What a logged error message never shows, whatever the error put in it: credentials in a URL
#: (its user part and its query), a Telegram bot token (`bot<id>:<secret>` in a Bot API path),
#: an authorization header's value, the value after a name that says secret (`token=…`,
#: `api_key: …`, `password=…`), and long opaque strings (keys, tokens) that are not UUIDs.
_SECRET_SHAPES = (
    (re.compile(r"://[^/\s@]+@"), "://[redacted]@"),
    (re.compile(r"(https?://[^\s?#]+)\?[^\s#]*"), r"\1?[redacted]"),
    (re.compile(r"\bbot\d+:[\w-]+"), "bot[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b([\w-]*(?:token|secret|password|passwd|api[_-]?key|authorization|"
            r"signature|credentials?))(['\"]?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
        ),
        r"\1\2[redacted]",
    ),
)
_OPAQUE = re.compile(r"[A-Za-z0-9_=.-]{32,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: The longest error message a log line carries.
MESSAGE_MAX = 300


def loggable_message(exc: BaseException) -> str:
    """`exc`'s message fit for a log: its first line (SQLAlchemy puts the statement and its
    parameters on the lines after it; rest_service's engine hides the parameters besides),
    at most MESSAGE_MAX characters, with what looks like a secret replaced by `[redacted]`."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    for shape, replacement in _SECRET_SHAPES:
        text = shape.sub(replacement, text)
    return _OPAQUE.sub(_opaque_redacted, text)[:MESSAGE_MAX]


def _opaque_redacted(found: re.Match[str]) -> str:
    """A long run of letters and digits is a key or a token; a UUID, a dotted name or a
    word of a message (no digit in it) is not."""
    word = found.group(0)
    if (
        _UUID.fullmatch(word)
        or not any(c.isdigit() for c in word)
        or not any(c.isalpha() for c in word)
    ):
        return word
    if "." in word and all(len(part) < 32 for part in word.split(".")):
        return word
    return "[redacted]"
