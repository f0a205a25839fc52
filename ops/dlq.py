"""`./manage.py dlq`: the operations live in common/infrastructure/dead_letters.py, which the web
admin uses too (rest_service's image has no `ops`)."""

from __future__ import annotations

from common.infrastructure.dead_letters import (
    AmbiguousDeadLetter,
    DeadLetterError,
    DeadLetterNotFound,
    NotReplayable,
    find_dead,
    list_dead,
    purge,
    replay,
    summary,
)

__all__ = [
    "AmbiguousDeadLetter",
    "DeadLetterError",
    "DeadLetterNotFound",
    "NotReplayable",
    "find_dead",
    "list_dead",
    "purge",
    "replay",
    "summary",
]
