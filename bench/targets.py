"""The performance targets, each judged met or missed against a run's figures.
A target whose scenario (or extra) was not run is left out, not missed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.pipeline import Result

#: A soak is flat when the services' summed RSS grows by at most this much from the
#: 10 000th answer to the end.
FLAT_GROWTH_PCT = 5.0
FLAT_FROM = 10_000


@dataclass(frozen=True)
class Target:
    scenario: str  # or "" for a figure of the run (extras)
    what: str
    limit: float
    higher_is_better: bool = False

    def label(self) -> str:
        sign = "≥" if self.higher_is_better else "≤"
        return f"{self.scenario or 'run'}: {self.what} {sign} {self.limit:g}"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _delivery(key: str) -> Callable[[Result], float | None]:
    def read(r: Result) -> float | None:
        value = r.delivery.get(key)
        return None if value is None else float(value)

    return read


#: Figures of one scenario's result, by name.
RESULT_FIGURES: dict[str, Callable[[Result], float | None]] = {
    "CPU ms/msg, five services": lambda r: r.cpu_ms_per_message,
    "CPU ms/msg, Postgres + Redis": lambda r: r.infra_cpu_ms_per_message,
    "msg/s": lambda r: r.throughput,
    "VmHWM MB, five services summed": lambda r: round(sum(r.peak_rss_mb.values()), 1),
    "RSS growth % after 10 000 answers": lambda r: _dict(r.extra.get("rss_flat")).get("growth_pct"),
    "answer p50 ms": lambda r: r.latency_ms.get("p50"),
    "answer p99 ms": lambda r: r.latency_ms.get("p99"),
    "first visible text p50 ms": lambda r: _dict(r.extra.get("first_text_ms")).get("p50"),
    "start-up s (up → all five healthy)": lambda r: _dict(r.extra.get("startup")).get("seconds"),
    "start-up s, empty database (up migrates, seeds → all healthy)": lambda r: _dict(
        r.extra.get("startup_empty")
    ).get("seconds"),
    "messages out of per-chat order": _delivery("out_of_order"),
    "messages answered twice": _delivery("duplicates"),
    "messages not answered": _delivery("missing"),
    "Telegram 429s": lambda r: float(r.telegram_429s),
    "send-limit violations": lambda r: (
        None if r.limit_violations is None else float(r.limit_violations)
    ),
    "max sends/s": lambda r: r.max_sends_per_second,
    "max sends/s to one chat": lambda r: r.max_sends_per_chat_second,
}

#: Figures of the whole run (extras), by name.
RUN_FIGURES: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "backlog / in-process baseline throughput": lambda e: e.get("backlog / baseline throughput"),
    "context build with 1M stored messages p50 ms": lambda e: _dict(
        _dict(e.get("context_1m")).get("typical_conversation_ms")
    ).get("p50"),
}

_ORDER = ("messages out of per-chat order", "messages answered twice", "messages not answered")
_LIMITS = ("Telegram 429s", "send-limit violations")

TARGETS: list[Target] = [
    Target("backlog", "CPU ms/msg, five services", 10.0),
    Target("backlog", "CPU ms/msg, Postgres + Redis", 2.0),
    Target("backlog_tool", "CPU ms/msg, five services", 16.0),
    Target("", "backlog / in-process baseline throughput", 0.40, higher_is_better=True),
    Target("soak_10k", "VmHWM MB, five services summed", 300.0),
    Target("soak_100k", "VmHWM MB, five services summed", 300.0),
    Target("soak_100k", "RSS growth % after 10 000 answers", FLAT_GROWTH_PCT),
    Target("*", "start-up s (up → all five healthy)", 5.0),
    Target("steady", "answer p50 ms", 15.0),
    Target("steady", "answer p99 ms", 40.0),
    Target("streaming", "first visible text p50 ms", 15.0),
    *(Target("*", what, 0.0) for what in _ORDER),
    *(Target(s, what, 0.0) for s in ("real_limits", "streaming") for what in _LIMITS),
    Target("real_limits", "max sends/s", 30.0),
    Target("real_limits", "max sends/s to one chat", 1.0),
    Target("", "context build with 1M stored messages p50 ms", 10.0),
]


def _row(target: Target, scenario: str, value: float | None) -> dict[str, Any]:
    met = value is not None and (
        value >= target.limit if target.higher_is_better else value <= target.limit
    )
    label = Target(scenario, target.what, target.limit, target.higher_is_better).label()
    return {"target": label, "measured": value, "met": met}


def judge(results: list[Result], extras: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target the run measured: {"target", "measured", "met"}. Scenario "*" is judged
    on each scenario that has the figure."""
    rows: list[dict[str, Any]] = []
    by_name = {r.scenario: r for r in results}
    for target in TARGETS:
        if not target.scenario:
            figure = RUN_FIGURES[target.what](extras)
            if figure is not None:
                rows.append(_row(target, "", figure))
            continue
        chosen = results if target.scenario == "*" else [by_name.get(target.scenario)]
        for result in chosen:
            if result is None:
                continue
            value = RESULT_FIGURES[target.what](result)
            if value is not None or target.scenario != "*":
                rows.append(_row(target, result.scenario, value))
    return rows
