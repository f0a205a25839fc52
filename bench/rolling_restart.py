"""A rolling restart of the assistant under load, as a Kubernetes rollout does it.

Two assistant replicas answer a steady stream (20 msg/s from 200 chats; every fourth
message of a chat asks the time, a turn of two model calls, the others are echoed). The LLM
stand-in takes up to `--model-seconds` per call, so turns are always in flight. The first
phase runs as is; in the second, each replica is replaced in turn (`maxSurge: 1`,
`maxUnavailable: 0`: the new one is healthy before the old one gets SIGTERM) with the
default `SHUTDOWN_GRACE_SECONDS`.

Figures: p50/p99 from a message to its answer in each phase, and what the restart added to
p99; messages lost, answered twice, out of order; model calls asked twice for one step of
one message (every step of a turn is told apart by the message's text and the tool results
it carries). Run with `python -m bench.rolling_restart` (about 1.5 minutes); it writes
`bench/results/rolling-restart-<stamp>.json`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from assistant.src.settings import Settings as AssistantSettings
from bench.pipeline import RESULTS, Pipeline, Scenario, _percentiles, machine
from ops.processes import ServiceProcess

#: How long the stopping replica may take: the grace, the manifests' margin.
GRACE_S = float(AssistantSettings.model_fields["shutdown_grace_seconds"].default)
STOP_TIMEOUT_S = GRACE_S + 15
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class RestartFigures:
    rate: float
    phase_seconds: float
    grace_seconds: float
    sent: int
    answered: int
    lost: int
    answered_twice: int
    out_of_order: int
    steady_ms: dict[str, float]
    restart_ms: dict[str, float]
    p99_added_ms: float
    #: Model calls in all, and calls beyond the first for one step of one message.
    model_calls: int
    model_calls_repeated: int
    #: Seconds from SIGTERM to exit, per replaced replica.
    stop_seconds: list[float]
    #: Seconds from the start of the first replacement to the old replicas' last exit.
    rollout_seconds: float


class RollingRestart(Pipeline):
    """The pipeline with two assistant replicas and a rollout in the middle of its run."""

    def __init__(self, workdir: Path, model_seconds: float) -> None:
        super().__init__(workdir)
        self.model_seconds = model_seconds
        self.replicas = ["assistant"]
        self.stop_seconds: list[float] = []

    async def start(self, scenario: Scenario) -> None:
        await super().start(scenario)
        self.llm.record = True
        self.llm.default_delay = self.model_seconds
        self.replicas.append("assistant-1")
        await asyncio.to_thread(self._start_replica, "assistant-1")

    def _start_replica(self, name: str) -> ServiceProcess:
        assert self.stack is not None
        return self.stack.start("assistant", name=name)

    async def roll(self) -> float:
        """Replace every replica, one at a time: the new one healthy, then the old stopped."""
        assert self.stack is not None
        started = time.monotonic()
        for n, old in enumerate(list(self.replicas)):
            new = f"assistant-new-{n}"
            await asyncio.to_thread(self._start_replica, new)
            signalled = time.monotonic()
            await asyncio.to_thread(self.stack[old].stop, timeout=STOP_TIMEOUT_S)
            self.stop_seconds.append(round(time.monotonic() - signalled, 2))
            self.replicas[self.replicas.index(old)] = new
        return time.monotonic() - started

    async def measure(self, rate: float, phase_s: float, chats: int) -> RestartFigures:
        users = [7_000_000 + i for i in range(chats)]
        injected: dict[int, list[float]] = {u: [] for u in users}
        total = int(2 * phase_s * rate)
        rollout: asyncio.Task[float] | None = None
        began = time.monotonic()
        for i in range(total):
            await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
            if i == int(phase_s * rate):
                rollout = asyncio.create_task(self.roll())
            user = users[i % len(users)]
            n = len(injected[user])
            asks = n % 4 == 3
            text = f"what time is it? c{user} [{n}]" if asks else f"hello there c{user} [{n}]"
            self._inject(user, text, injected)
        assert rollout is not None
        rollout_s = await rollout
        with contextlib.suppress(AssertionError):  # a shortfall is reported, not raised
            await self.telegram.wait_sent(total, timeout=60)
        await asyncio.sleep(1.0)  # an answer sent twice comes late
        split = began + phase_s
        steady, restart = self._phase_latencies(injected, split)
        lost, twice, disorder = self._counts(injected)
        calls, repeated = self._model_calls()
        return RestartFigures(
            rate=rate,
            phase_seconds=phase_s,
            grace_seconds=GRACE_S,
            sent=total,
            answered=len(self.telegram.sent),
            lost=lost,
            answered_twice=twice,
            out_of_order=disorder,
            steady_ms=_percentiles(steady),
            restart_ms=_percentiles(restart),
            p99_added_ms=round(
                _percentiles(restart).get("p99", 0.0) - _percentiles(steady).get("p99", 0.0), 2
            ),
            model_calls=calls,
            model_calls_repeated=repeated,
            stop_seconds=self.stop_seconds,
            rollout_seconds=round(rollout_s, 2),
        )

    def _phase_latencies(
        self, injected: dict[int, list[float]], split: float
    ) -> tuple[list[float], list[float]]:
        """Per chat the nth answer pairs with the nth message (chats are answered in order)."""
        steady: list[float] = []
        restart: list[float] = []
        for chat, times in injected.items():
            for sent_at, answer in zip(times, self.telegram.sent_to(chat), strict=False):
                (steady if sent_at < split else restart).append(1000 * (answer.at - sent_at))
        return steady, restart

    def _counts(self, injected: dict[int, list[float]]) -> tuple[int, int, int]:
        """Messages not answered, answered twice, and echoes out of their chat's order."""
        lost = twice = disorder = 0
        for chat, times in injected.items():
            sent = self.telegram.sent_to(chat)
            lost += max(0, len(times) - len(sent))
            twice += max(0, len(sent) - len(times))
            echoed = [int(m.group(1)) for s in sent if (m := _MARKER.search(s.text))]
            disorder += sum(1 for a, b in itertools.pairwise(echoed) if b < a)
        return lost, twice, disorder

    def _model_calls(self) -> tuple[int, int]:
        """All model calls, and those beyond the first for one step of one message: a step is
        the message's text (unique: it names its chat and number) with the tool results the
        call carries."""
        steps = Counter(
            (r.last("user") or {}).get("content", "").__str__()
            + f"|{sum(1 for m in r.messages if m.get('role') == 'tool')}"
            for r in list(self.llm.requests)
        )
        return sum(steps.values()), sum(n - 1 for n in steps.values())


async def run(
    rate: float, phase_s: float, model_seconds: float, chats: int = 200
) -> RestartFigures:
    scenario = Scenario("rolling_restart", int(2 * phase_s * rate), chats, "", rate=rate)
    with tempfile.TemporaryDirectory() as tmp:
        bench = RollingRestart(Path(tmp), model_seconds)
        try:
            await bench.start(scenario)
            return await bench.measure(rate, phase_s, chats)
        finally:
            await bench.stop()


def table(figures: RestartFigures) -> str:
    f = figures
    return "\n".join(
        [
            "| phase | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|",
            f"| steady | {f.steady_ms.get('p50')} | {f.steady_ms.get('p99')} "
            f"| {f.steady_ms.get('max')} |",
            f"| rolling restart | {f.restart_ms.get('p50')} | {f.restart_ms.get('p99')} "
            f"| {f.restart_ms.get('max')} |",
            "",
            "| figure | measured | target |",
            "|---|---|---|",
            f"| p99 added by the restart, ms | {f.p99_added_ms} | ≤ {1000 * f.grace_seconds:g} |",
            f"| messages lost | {f.lost} of {f.sent} | 0 |",
            f"| answered twice | {f.answered_twice} | 0 |",
            f"| out of per-chat order | {f.out_of_order} | 0 |",
            f"| model calls repeated for one step | {f.model_calls_repeated} of "
            f"{f.model_calls} | 0 |",
            f"| SIGTERM → exit, s per replica | {f.stop_seconds} | ≤ {f.grace_seconds:g} |",
            f"| rollout of both replicas, s | {f.rollout_seconds} | |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="of each phase")
    parser.add_argument(
        "--model-seconds", type=float, default=0.5, help="each model call: random up to this"
    )
    args = parser.parse_args(argv)
    started = machine()
    figures = asyncio.run(run(args.rate, args.seconds, args.model_seconds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    out = RESULTS / f"rolling-restart-{stamp}.json"
    ended = " ".join(f"{x:.2f}" for x in os.getloadavg())
    document = {"machine": {**started, "load_at_end": ended}, "figures": asdict(figures)}
    out.write_text(json.dumps(document, indent=2))
    print(
        f"{started['cpu']}, {started['cores']} cores, {started['date']}, "
        f"load {started['load_at_start']} → {ended}"
    )
    print(table(figures))
    print(f"\nwrote {out.relative_to(RESULTS.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
