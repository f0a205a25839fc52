"""The six services, written once (docs/contract.md "Services"): manage.py, the test harness,
the benchmarks and the container checks all read this list. No service needs it at run time,
so it is development tooling and stays out of the images."""

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

    @property
    def url_setting(self) -> str:
        """The setting by which the other services find it (`REST_SERVICE_URL`)."""
        return f"{self.name.upper()}_URL"


SERVICES: tuple[Service, ...] = (
    Service("rest_service", 8000, Kind.http),
    Service("google_calendar_service", 8001, Kind.http),
    Service("assistant", 8002, Kind.worker),
    Service("cron_service", 8003, Kind.worker),
    Service("tg_bot", 8004, Kind.worker),
    Service("channels", 8005, Kind.http),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}
HTTP_SERVICES: tuple[str, ...] = tuple(s.name for s in SERVICES if s.kind is Kind.http)
WORKERS: tuple[str, ...] = tuple(s.name for s in SERVICES if s.kind is Kind.worker)
