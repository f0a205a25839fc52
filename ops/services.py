"""The six services, written once (docs/contract.md "Services"): manage.py, the test harness,
the benchmarks, the container checks and the one-process runner (ops/one_process.py) read
this list. No service needs it at run time: it ships only in the images that carry ops/."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

#: The repository root: each service's package is the folder of its name here.
ROOT = Path(__file__).resolve().parent.parent


class Kind(StrEnum):
    #: A FastAPI app the others call; its URL is a setting of theirs (compose: behind the proxy).
    http = "http"
    #: A worker with only `/health` and `/metrics`; any number of replicas may run.
    worker = "worker"


@dataclass(frozen=True)
class Service:
    name: str  # also its package and its pyproject dependency group
    default_port: int
    kind: Kind
    #: What `python -m <name>` runs (its `__main__.py` names the same): the ASGI app uvicorn
    #: serves (`http`), or the worker's `main(stop)` coroutine function (`worker`).
    entry: str
    #: Its settings class (`module:Class`).
    settings: str

    @property
    def url_setting(self) -> str:
        """The setting by which the other services find it (`REST_SERVICE_URL`)."""
        return f"{self.name.upper()}_URL"


SERVICES: tuple[Service, ...] = (
    Service(
        "rest_service",
        8000,
        Kind.http,
        "rest_service.app.main:app",
        "rest_service.app.settings:Settings",
    ),
    Service(
        "google_calendar_service",
        8001,
        Kind.http,
        "google_calendar_service.src.main:app",
        "google_calendar_service.src.settings:Settings",
    ),
    Service(
        "assistant", 8002, Kind.worker, "assistant.src.main:main", "assistant.src.settings:Settings"
    ),
    Service(
        "cron_service",
        8003,
        Kind.worker,
        "cron_service.app.main:main",
        "cron_service.app.settings:Settings",
    ),
    Service("tg_bot", 8004, Kind.worker, "tg_bot.src.main:main", "tg_bot.src.settings:Settings"),
    Service("channels", 8005, Kind.http, "channels.src.main:app", "channels.src.settings:Settings"),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}
HTTP_SERVICES: tuple[str, ...] = tuple(s.name for s in SERVICES if s.kind is Kind.http)
WORKERS: tuple[str, ...] = tuple(s.name for s in SERVICES if s.kind is Kind.worker)
