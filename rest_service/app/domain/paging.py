"""A page of a list: what every list function takes, whoever calls it (API, admin, CLI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
