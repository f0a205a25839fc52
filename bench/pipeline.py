"""The whole pipeline on this machine: Telegram stand-in → tg_bot → queue → assistant →
LLM stand-in → queue → tg_bot → Telegram stand-in, every service a real process.

Run with `./manage.py bench` (or `python -m bench.pipeline`). Prints a table of the figures
and one of the performance targets (bench/targets.py), each met or MISSED, and writes
`bench/results/pipeline-<date>-<scenarios>.json`.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
from aiohttp import ClientSession
from openai import AsyncOpenAI
from prometheus_client.parser import text_string_to_metric_families

from bench import infra_counts, procstat, startup
from bench.environment import BenchEnvironment
from bench.targets import FLAT_FROM, judge
from common.infrastructure.queue_messages import answer_message_id, incoming_message_id
from ops.infra import free_port
from ops.processes import ONE_PROCESS, Stack
from ops.services import NAMES, ROOT
from sandbox.llm_server import LlmStandIn, Step
from sandbox.telegram_api import TelegramStandIn
from sandbox.telegram_updates import private_text
from sandbox.telegram_updates import user as tg_user
from tg_bot.src.workers.drafts import draft_id

RESULTS = ROOT / "bench" / "results"
TOKEN = "424242:BENCH-token"


@dataclass
class Scenario:
    name: str
    messages: int
    users: int
    text: str
    rate: float | None = None  # messages per second; None = a backlog all at once
    real_limits: bool = False  # Telegram's send limits instead of raised ones
    #: Live answers on (STREAM_ANSWERS): every answer is STREAM_ANSWER, streamed slowly.
    stream: bool = False
    #: Each message ends in " [n]" (its number in its chat), which the echoed answer carries
    #: back: the per-chat order check. A tool answer does not echo, so only counts are checked.
    numbered: bool = True


SCENARIOS = {
    "backlog": Scenario("backlog", 2000, 200, "hello there"),
    "backlog_tool": Scenario("backlog_tool", 2000, 200, "what time is it?", numbered=False),
    "steady": Scenario("steady", 600, 200, "hello there", rate=20.0),
    "real_limits": Scenario("real_limits", 120, 20, "hello there", real_limits=True),
    "soak_10k": Scenario("soak_10k", 10_000, 200, "hello there"),
    #: Not in the default run (about 20 minutes): is the services' memory flat?
    "soak_100k": Scenario("soak_100k", 100_000, 200, "hello there"),
    "tiny": Scenario("tiny", 20, 5, "hello there"),
    "streaming": Scenario(
        "streaming", 600, 200, "hello there", rate=20.0, real_limits=True, stream=True
    ),
}
#: What `python -m bench.pipeline` runs without `--scenario` (soak_10k takes minutes).
DEFAULT_SCENARIOS = ["backlog", "backlog_tool", "steady", "real_limits"]

#: Telegram's limits (docs/contract.md "Settings": SEND_LIMIT_*); the sender must hold them.
TELEGRAM_OVERALL_PER_S = 30
TELEGRAM_CHAT_PER_S = 1
#: Sends are stamped when the stand-in accepts them: delivery jitter can bring two sends
#: that left 1 s apart a little closer, so the windows below are this much shorter.
JITTER_S = 0.02

#: All five, in an order where each HTTP service starts before those that call it.
SERVICES = NAMES
#: How many RSS samples a run takes (one every messages / this many answers).
RSS_SAMPLES = 20

#: The answer of the streaming scenario: 360 characters in 45 chunks 5 ms apart after the first
#: (about 0.25 s of writing). A model that writes for a second holds each turn four times as
#: long, and this machine then answers 7-10 msg/s, streamed or not (docs/benchmarks.md).
STREAM_ANSWER = (
    "Here is the plan for tomorrow, step by step. First, the team meeting at nine; bring "
    "the **quarterly figures** and the notes from Monday. Then lunch with Anna at one, at "
    "the place by the river. After that, two hours for the report: the draft is in your "
    "documents folder. Finally, call the bank before five about the transfer. Good luck!"
)[:360]
STREAM_CHUNK_DELAY_S = 0.005


@dataclass
class Result:
    scenario: str
    messages: int
    users: int
    answered: int
    seconds: float
    throughput: float
    latency_ms: dict[str, float]
    cpu_ms_per_message: float
    cpu_seconds: dict[str, float]
    peak_rss_mb: dict[str, float]
    rss_mb: dict[str, float]
    stages_ms: dict[str, float]
    telegram_429s: int
    max_sends_per_second: float
    max_sends_per_chat_second: float
    limit_violations: int | None  # only with Telegram's real limits
    extra: dict[str, object] = field(default_factory=dict)
    #: Postgres and Redis CPU during the run (bench/procstat.py says what each counts).
    infra_cpu_seconds: dict[str, float] = field(default_factory=dict)
    #: The counted part (procstat.COUNTED) per answer.
    infra_cpu_ms_per_message: float = 0.0
    #: Per-chat order and once-only: out_of_order (None: not checkable), duplicates, missing.
    delivery: dict[str, int | None] = field(default_factory=dict)


_proc_cpu_seconds = procstat.cpu_seconds
_proc_rss_mb = procstat.rss_mb
_MARKER = re.compile(r"\[(\d+)\]")


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99),
        "max": round(ordered[-1], 2), "mean": round(statistics.fmean(ordered), 2),
    }  # fmt: skip


#: Histograms whose mean is a stage of the pipeline, per service.
_STAGES = {
    "smart_assistant_queue_handle_seconds": "handles {stream}",
    "smart_assistant_queue_wait_seconds": "waits in {stream}",
    "smart_assistant_assistant_turn_seconds": "turn (context, LLM, store, queue)",
    "smart_assistant_llm_request_seconds": "LLM request",
    "smart_assistant_http_request_duration_seconds": "answers {method} {handler}",
}


async def _stage_means(url: str, owner: str) -> dict[str, float]:
    """Mean milliseconds of each stage histogram `url`'s /metrics exposes, as "owner: stage":
    a series' own `service` label names its owner (rest_service's answers by route), else
    `owner` does."""
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, float] = defaultdict(float)
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    for family in text_string_to_metric_families(text):
        label = _STAGES.get(family.name)
        for sample in family.samples if label else ():
            into = {f"{family.name}_sum": sums, f"{family.name}_count": counts}.get(sample.name)
            if into is not None:
                stage = label.format_map(defaultdict(str, sample.labels))
                into[f"{sample.labels.get('service') or owner}: {stage}"] += sample.value
    return {k: round(1000 * sums[k] / counts[k], 2) for k in sums if counts.get(k)}


class Pipeline:
    """Stand-ins in this process (Telegram) and a thread (LLM); services as processes."""

    def __init__(
        self,
        workdir: Path,
        *,
        llm_process: bool = False,
        measure_startup: bool = False,
        extra_env: dict[str, str] | None = None,
        one_process: bool = False,
    ) -> None:
        """`llm_process`: the LLM stand-in as a process of its own instead (streaming many
        answers would take the CPU the Telegram stand-in needs to stamp sends on time).
        `measure_startup`: time `up`'s start first, in the run's shape, on the migrated
        database and then on an empty one.
        `one_process`: the services in one process (ops/one_process.py), as `--one-process`."""
        self.workdir = workdir
        self._one_process = one_process
        self._measure_startup = measure_startup
        self.startup: dict[str, float] | None = None
        self.startup_empty: dict[str, float] | None = None
        self.telegram = TelegramStandIn(TOKEN, bot_username="bench_bot")
        self.llm = LlmStandIn(record=False)
        self._llm_process_wanted = llm_process
        self._llm_process: subprocess.Popen[bytes] | None = None
        self._llm_url = ""
        self.env: dict[str, str] = {}
        #: Settings added to every service's (the channels bench turns the web chat on).
        self._extra_env = dict(extra_env or {})
        #: Every injected message: (chat, update_id, time.monotonic()).
        self.injected: list[tuple[int, int, float]] = []
        self.stack: Stack | None = None
        self._bench: BenchEnvironment | None = None

    async def start(self, scenario: Scenario) -> None:
        await self.telegram.start()
        await self._start_llm(scenario)
        self._bench = await asyncio.to_thread(BenchEnvironment.open, "pipeline")
        limits = {} if scenario.real_limits else {
            "SEND_LIMIT_OVERALL_PER_SECOND": "100000",
            "SEND_LIMIT_CHAT_PER_SECOND": "100000",
            "SEND_LIMIT_GROUP_PER_MINUTE": "100000",
            # 200 users sending thousands of messages are a flood by the per-user limits.
            "RATE_LIMIT_MESSAGES_PER_MINUTE": "0",
            "LLM_DAILY_TOKEN_BUDGET": "0",
        }  # fmt: skip
        env = {
            **self._bench.env,
            "TELEGRAM_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": self.telegram.url,
            "OPENAI_BASE_URL": f"{self._llm_url}/v1",
            "OPENAI_API_KEY": "sk-bench",
            "POLL_TIMEOUT_SECONDS": "5",
            "STREAM_ANSWERS": "true" if scenario.stream else "false",
            **limits,
            **self._extra_env,
        }
        if scenario.stream:
            # Each answer takes its model about a second: enough turns at once for the rate.
            env["ASSISTANT_CONCURRENCY"] = "64"
        self.env = env
        self.stack = Stack(env, self.workdir)
        await asyncio.to_thread(self._start_services, env)

    async def _start_llm(self, scenario: Scenario) -> None:
        """In a thread, or as a process; streaming scenarios script the slow long answer."""
        if self._llm_process_wanted:
            port = free_port()
            command = [sys.executable, "-m", "sandbox.llm_server", "--port", str(port)]
            self._llm_process = await asyncio.to_thread(
                subprocess.Popen, [*command, "--no-record"], cwd=ROOT
            )
            self._llm_url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=self._llm_url) as client:
                await _until_up(client)
                if scenario.stream:
                    pace = {"chunk_delay": STREAM_CHUNK_DELAY_S}
                    await client.post("/control/stream", json=pace)
                    step = {"text": STREAM_ANSWER, "times": None}
                    await client.post("/control/script", json=step)
            return
        self.llm.start_in_thread()
        self._llm_url = self.llm.url
        if scenario.stream:
            self.llm.chunk_delay = STREAM_CHUNK_DELAY_S
            self.llm.script(Step(text=STREAM_ANSWER, times=None))

    def _start_services(self, env: dict[str, str]) -> None:
        assert self.stack is not None
        subprocess.run(
            [sys.executable, "-m", "rest_service.seed"],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        if self._measure_startup:
            self.startup = startup.measure(env, one_process=self._one_process)
            self.startup_empty = startup.measure_empty(env, one_process=self._one_process)
        if self._one_process:
            self.stack.launch_one_process({name: {} for name in SERVICES})
            self.stack.wait_healthy(SERVICES)
            return
        for name in SERVICES:
            self.stack.start(name)

    async def stop(self) -> None:
        if self.stack:
            await asyncio.to_thread(self.stack.stop_all)
        await self.telegram.stop()
        if self._llm_process is not None:
            self._llm_process.terminate()
            await asyncio.to_thread(self._llm_process.wait, 10)
        else:
            self.llm.stop_thread()
        if self._bench is not None:
            await asyncio.to_thread(self._bench.close)

    @property
    def database_url(self) -> str:
        return self._bench.database_url if self._bench else ""

    def pids(self) -> dict[str, int]:
        """Each process once, by service (`one_process` for the one process of them all)."""
        assert self.stack is not None
        if self._one_process:
            [pid] = {p.proc.pid for p in self.stack.processes.values() if p.proc}
            return {ONE_PROCESS: pid}
        return {n: p.proc.pid for n, p in self.stack.processes.items() if p.proc}

    async def run(self, scenario: Scenario) -> Result:
        users = [7_000_000 + i for i in range(scenario.users)]
        load = os.getloadavg()[0]  # another run on the machine shows here
        cpu_before = {n: _proc_cpu_seconds(p) for n, p in self.pids().items()}
        infra = self._infra_cpu()
        if infra is not None:
            infra.start()
        counters = await self._infra_counters()
        injected: dict[int, list[float]] = {u: [] for u in users}
        self.telegram.sent.clear()
        self.telegram.live.reset()
        self.injected.clear()
        samples: list[dict[str, object]] = []
        sampler = asyncio.create_task(self._sample(scenario, infra, samples))
        try:
            await self._send(scenario, users, injected)
            with contextlib.suppress(AssertionError):  # a shortfall is reported, not raised
                await self._wait_answered(scenario)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        first = min(t for times in injected.values() for t in times)
        last = max(self._output_times(), default=first)
        seconds = last - first
        cpu = {n: round(_proc_cpu_seconds(p) - cpu_before[n], 2) for n, p in self.pids().items()}
        infra_cpu = infra.seconds() if infra is not None else {}
        answered = len(self.telegram.sent)
        counted_after = await self._infra_counters()
        chat_rate, violations = self._chat_limits(users)
        extra: dict[str, object] = self._streaming() if scenario.stream else {}
        extra.update(self._answer_extra(injected))
        extra["load_at_start"] = round(load, 2)
        if counters is not None and counted_after is not None:
            extra["infra_counts"] = infra_counts.per_message(
                counters, counted_after, max(1, answered)
            )
        samples.append(self._rss_sample(answered))
        extra["rss_samples"] = samples
        extra["peak_pss_sum_mb"] = max(cast(float, s["pss_total_mb"]) for s in samples)
        if flat := _flatness(samples):
            extra["rss_flat"] = flat
        if self.startup is not None:
            extra["startup"] = self.startup
        if self.startup_empty is not None:
            extra["startup_empty"] = self.startup_empty
        counted = sum(infra_cpu.get(group, 0.0) for group in procstat.COUNTED)
        return Result(
            scenario=scenario.name,
            messages=scenario.messages,
            users=scenario.users,
            answered=answered,
            seconds=round(seconds, 2),
            throughput=round(answered / seconds, 1) if seconds else 0.0,
            latency_ms=_percentiles(self._latencies(injected)),
            cpu_ms_per_message=round(1000 * sum(cpu.values()) / max(1, answered), 2),
            cpu_seconds=cpu,
            peak_rss_mb={n: round(_proc_rss_mb(p), 1) for n, p in self.pids().items()},
            rss_mb={n: round(_proc_rss_mb(p, "VmRSS"), 1) for n, p in self.pids().items()},
            stages_ms=await self._stages(),
            telegram_429s=sum(1 for r in self.telegram.rejected if r.status == 429),
            max_sends_per_second=self._max_in_window(sorted(m.at for m in self.telegram.sent)),
            max_sends_per_chat_second=chat_rate,
            limit_violations=(
                violations + self._overall_violations() if scenario.real_limits else None
            ),
            extra=extra,
            infra_cpu_seconds=infra_cpu,
            infra_cpu_ms_per_message=round(1000 * counted / max(1, answered), 2),
            delivery=self._delivery(injected, numbered=scenario.numbered and not scenario.stream),
        )

    async def _infra_counters(self) -> dict[str, Any] | None:
        """Redis's command counters and Postgres's for the bench database (None: the system
        under test has neither)."""
        assert self._bench is not None
        return await asyncio.to_thread(
            infra_counts.snapshot, self._bench.database_url, self._bench.redis_url
        )

    def _infra_cpu(self) -> procstat.InfraCpu | None:
        """The Postgres and Redis processes' CPU to count (None: the system under test has
        neither, as the peer bot in bench/peer.py)."""
        assert self._bench is not None
        return procstat.InfraCpu(self._bench.database_name)

    async def _wait_answered(self, scenario: Scenario) -> None:
        """Until every message is answered (AssertionError at the timeout)."""
        await self.telegram.wait_sent(scenario.messages, timeout=max(120.0, scenario.messages / 5))

    def _output_times(self) -> list[float]:
        """When each output of the run reached Telegram (the run ends at the last)."""
        return [m.at for m in self.telegram.sent]

    def _answer_extra(self, injected: dict[int, list[float]]) -> dict[str, object]:
        """Figures a subclass adds to a result's `extra`."""
        return {}

    async def _sample(
        self,
        scenario: Scenario,
        infra: procstat.InfraCpu | None,
        samples: list[dict[str, object]],
    ) -> None:
        """Every messages / RSS_SAMPLES answers, the services' VmRSS; every second, the
        Postgres and Redis processes' CPU (a backend that exits keeps its last figure)."""
        every = max(1, scenario.messages // RSS_SAMPLES)
        mark = every
        while True:
            await asyncio.sleep(1.0)
            if infra is not None:
                infra.sample()
            answered = len(self.telegram.sent)
            if answered >= mark:
                samples.append(self._rss_sample(answered))
                mark = (answered // every + 1) * every

    def _rss_sample(self, answered: int) -> dict[str, object]:
        pids = self.pids()
        rss = {n: round(_proc_rss_mb(p, "VmRSS"), 1) for n, p in pids.items()}
        pss = round(sum(procstat.pss_mb(p) for p in pids.values()), 1)
        total = round(sum(rss.values()), 1)
        return {"answered": answered, "rss_mb": rss, "total_mb": total, "pss_total_mb": pss}

    def _delivery(
        self, injected: dict[int, list[float]], *, numbered: bool
    ) -> dict[str, int | None]:
        """Per chat: answers out of order (by the " [n]" each echo carries back), messages
        answered more than once, and not at all (counted per chat when not numbered)."""
        disorder, duplicates, missing = 0, 0, 0
        for chat, times in injected.items():
            sent = self.telegram.sent_to(chat)
            if not numbered:
                duplicates += max(0, len(sent) - len(times))
                missing += max(0, len(times) - len(sent))
                continue
            numbers = [int(m.group(1)) for s in sent if (m := _MARKER.search(s.text))]
            disorder += sum(1 for a, b in itertools.pairwise(numbers) if b < a)
            duplicates += len(numbers) - len(set(numbers))
            missing += len(set(range(len(times))) - set(numbers))
        return {
            "out_of_order": disorder if numbered else None,
            "duplicates": duplicates,
            "missing": missing,
        }

    def _streaming(self) -> dict[str, object]:
        """Live answers: from a message to its first visible text (the first draft, or the
        answer when no draft came first), and how many drafts Telegram was sent."""
        bot_id = int(self.telegram.bot["id"])
        first_draft: dict[tuple[int, int], float] = {}
        for draft in self.telegram.live.drafts:
            first_draft.setdefault((draft.chat_id, draft.draft_id), draft.at)
        finals: dict[int, list[float]] = {}
        for message in self.telegram.sent:
            finals.setdefault(message.chat_id, []).append(message.at)
        seen: dict[int, int] = {}
        first_text: list[float] = []
        for chat, update_id, at in self.injected:
            nth = seen[chat] = seen.get(chat, -1) + 1
            answer = answer_message_id(incoming_message_id(bot_id, update_id))
            shown = [first_draft.get((chat, draft_id(answer)), float("inf"))]
            shown += finals.get(chat, [])[nth : nth + 1]
            if min(shown) < float("inf"):
                first_text.append(1000 * (min(shown) - at))
        drafts = sorted(d.at for d in self.telegram.live.drafts)
        return {
            "first_text_ms": _percentiles(first_text),
            "drafts": len(drafts),
            "answers_with_drafts": len(first_draft),
            "max_drafts_per_second": self._max_in_window(drafts),
            "rejected": sorted({f"{r.method} {r.status}" for r in self.telegram.rejected}),
        }

    async def _send(
        self, scenario: Scenario, users: list[int], injected: dict[int, list[float]]
    ) -> None:
        started = time.monotonic()
        for i in range(scenario.messages):
            if scenario.rate:
                due = started + i / scenario.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            user = users[i % len(users)]
            text = scenario.text
            if scenario.numbered:
                text = f"{text} [{len(injected[user])}]"
            self._inject(user, text, injected)

    async def _stages(self) -> dict[str, float]:
        assert self.stack is not None
        if self._one_process:  # one registry, shown by every service's /metrics: read once
            return await _stage_means(self.stack.url("rest_service"), "one process")
        stages: dict[str, float] = {}
        for name in ("assistant", "tg_bot", "rest_service"):
            stages |= await _stage_means(self.stack.url(name), name)
        return stages

    async def config_change_latency(
        self, changes: int = 5, rate: float = 20.0
    ) -> dict[str, object]:
        """PUT the secretary's instructions while messages flow at `rate`; how long until
        the LLM stand-in first sees the new system prompt (the contract: within 1 s)."""
        assert self.stack is not None
        rest = self.stack.url("rest_service")
        headers = {"Authorization": f"Bearer {self.env['ADMIN_API_TOKEN']}"}
        users = [7_500_000 + i for i in range(20)]
        injected: dict[int, list[float]] = {u: [] for u in users}
        self.llm.record = True
        delays: list[float] = []
        async with httpx.AsyncClient(base_url=rest, headers=headers, timeout=10) as client:
            secretary = (await client.get("/api/config")).json()["secretary"]
            for n in range(changes):
                marker = f"bench-marker-{uuid.uuid4().hex}"
                changed_at = time.time()
                response = await client.put(
                    f"/api/assistants/{secretary['id']}",
                    json={"instructions": f"{secretary['instructions']}\n{marker}"},
                )
                response.raise_for_status()
                seen = await self._first_prompt_with(marker, users, injected, n, rate)
                delays.append(round(1000 * (seen - changed_at), 1) if seen else float("inf"))
        self.llm.record = False
        return {"changes": changes, "rate": rate, "delays_ms": delays, "max_ms": max(delays)}

    async def _first_prompt_with(
        self, marker: str, users: list[int], injected: dict[int, list[float]], n: int, rate: float
    ) -> float | None:
        deadline = time.monotonic() + 10.0
        i = 0
        while time.monotonic() < deadline:
            self._inject(users[(n * 7 + i) % len(users)], "hello there", injected)
            i += 1
            await asyncio.sleep(1 / rate)
            hits = [r.received_at for r in list(self.llm.requests) if marker in r.system_text]
            if hits:
                return min(hits)
        return None

    def _inject(self, user: int, text: str, injected: dict[int, list[float]]) -> None:
        at = time.monotonic()
        injected[user].append(at)
        update_id = self.telegram.inject(private_text(tg_user(user, f"U{user}"), text))
        self.injected.append((user, update_id, at))

    def _latencies(self, injected: dict[int, list[float]]) -> list[float]:
        """Per chat, the nth answer pairs with the nth message (chats are answered in order)."""
        out: list[float] = []
        for chat, times in injected.items():
            for sent_at, msg in zip(times, self.telegram.sent_to(chat), strict=False):
                out.append(1000 * (msg.at - sent_at))
        return out

    def _chat_limits(self, users: list[int]) -> tuple[float, int]:
        """The most sends to one chat within a second, and how many sends came sooner than
        1 s after the chat's previous one."""
        worst, early = 0.0, 0
        for chat in users:
            stamps = sorted(m.at for m in self.telegram.sent_to(chat))
            worst = max(worst, self._max_in_window(stamps))
            early += sum(1 for a, b in itertools.pairwise(stamps) if b - a < 1 - JITTER_S)
        return worst, early

    def _overall_violations(self) -> int:
        stamps = sorted(m.at for m in self.telegram.sent)
        over, j = 0, 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - (1 - JITTER_S):
                j += 1
            over += i - j + 1 > TELEGRAM_OVERALL_PER_S
        return over

    @staticmethod
    def _max_in_window(stamps: list[float]) -> float:
        """The most stamps within any window of 1 s (less the jitter allowance)."""
        best, j = 0, 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - (1 - JITTER_S):
                j += 1
            best = max(best, i - j + 1)
        return float(best)


async def _until_up(client: httpx.AsyncClient, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the LLM stand-in did not start")
        await asyncio.sleep(0.1)


async def baseline(messages: int) -> dict[str, float]:
    """Receive → LLM stand-in → reply in one process, no queues: the architecture's floor."""
    telegram = TelegramStandIn(TOKEN)
    llm = LlmStandIn(record=False).start_in_thread()
    await telegram.start()
    client = AsyncOpenAI(base_url=f"{llm.url}/v1", api_key="sk-bench", max_retries=0)
    cpu0, started = time.process_time(), time.perf_counter()
    async with ClientSession() as http:
        base = f"{telegram.url}/bot{TOKEN}"
        for i in range(messages):
            telegram.inject(private_text(tg_user(8_000_000 + i % 200), "hello there"))
        offset = 0
        done = 0
        while done < messages:
            async with http.post(f"{base}/getUpdates", json={"offset": offset, "timeout": 1}) as r:
                updates = (await r.json())["result"]
            for update in updates:
                offset = update["update_id"] + 1
                msg = update["message"]
                answer = await client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": msg["text"]}]
                )
                async with http.post(f"{base}/sendMessage", json={
                    "chat_id": msg["chat"]["id"], "text": answer.choices[0].message.content,
                }) as sent:  # fmt: skip
                    await sent.read()
                done += 1
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    await client.close()
    await telegram.stop()
    llm.stop_thread()
    return {
        "messages": messages,
        "throughput": round(messages / seconds, 1),
        "cpu_ms_per_message": round(1000 * cpu / messages, 2),
    }


async def run_scenario(
    scenario: Scenario,
    *,
    config_changes: int = 0,
    measure_startup: bool = False,
    one_process: bool = False,
) -> Result:
    """One scenario on a fresh stack and database (and, if asked, the config-change probe
    on the same stack afterwards, and `up`'s start-up time before, in `extra`)."""
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = Pipeline(
            Path(tmp),
            llm_process=scenario.stream,
            measure_startup=measure_startup,
            one_process=one_process,
        )
        try:
            await pipeline.start(scenario)
            result = await pipeline.run(scenario)
            if config_changes and not scenario.stream:  # the probe reads the in-thread LLM's log
                probe = await pipeline.config_change_latency(config_changes)
                result.extra["config_change"] = probe
        finally:
            await pipeline.stop()
    return result


def _flatness(samples: list[dict[str, object]]) -> dict[str, float] | None:
    """The summed RSS from the first sample at or past the 10 000th answer to the last one,
    when the run went on well past it (a soak)."""
    later = [x for x in samples if int(str(x["answered"])) >= FLAT_FROM]
    if len(later) < 2 or int(str(later[-1]["answered"])) < 2 * FLAT_FROM:
        return None
    first, last = float(str(later[0]["total_mb"])), float(str(later[-1]["total_mb"]))
    return {
        "from_answered": float(str(later[0]["answered"])),
        "from_mb": first,
        "to_mb": last,
        "growth_pct": round(100 * (last - first) / first, 2) if first else 0.0,
    }


#: Short names for the table's per-service columns.
_SHORT = {
    "rest_service": "rest",
    "google_calendar_service": "cal",
    "assistant": "asst",
    "cron_service": "cron",
    "tg_bot": "tg",
    "channels": "ch",
}


def _by_process(values: dict[str, float], scale: float, digits: int) -> str:
    """Per service in the header's order; a row of other processes (one process, the peer)
    names them."""
    if set(values) <= set(SERVICES):
        return "/".join(f"{scale * values.get(n, 0):.{digits}f}" for n in SERVICES)
    return "; ".join(f"{n} {scale * v:.{digits}f}" for n, v in values.items())


def table(
    results: list[Result], extras: dict[str, object], peers: list[Result] | None = None
) -> str:
    """Compact Markdown tables to paste into docs/benchmarks.md: the figures, Postgres and
    Redis CPU, and the targets, each met or MISSED (`peers`: the peer bot's rows, bench/peer.py,
    in the figures only)."""
    judged = judge(results, dict(extras))
    results = [*results, *(peers or [])]
    short = "/".join(_SHORT[n] for n in SERVICES)
    lines = [
        f"| scenario | answered | msg/s | p50 ms | p95 ms | p99 ms | CPU ms/msg ({short}) "
        f"| peak RSS MB, sum ({short}) | peak PSS MB, sum |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        per = _by_process(r.cpu_seconds, 1000 / max(1, r.answered), 1)
        rss = _by_process(r.peak_rss_mb, 1, 0)
        lat = r.latency_ms
        lines.append(
            f"| {r.scenario} | {r.answered}/{r.messages} | {r.throughput} | {lat.get('p50')} "
            f"| {lat.get('p95')} | {lat.get('p99')} | {r.cpu_ms_per_message} ({per}) "
            f"| {sum(r.peak_rss_mb.values()):.0f} ({rss}) | {r.extra.get('peak_pss_sum_mb')} |"
        )
    lines += ["", "| scenario | Postgres + Redis CPU ms/msg (counted) | CPU s by process |"]
    lines.append("|---|---|---|")
    for r in results:
        by_process = "; ".join(f"{k} {v}" for k, v in r.infra_cpu_seconds.items())
        lines.append(f"| {r.scenario} | {r.infra_cpu_ms_per_message} | {by_process} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for row in judged:
        lines.append(
            f"| {row['target']} | {row['measured']} | {'met' if row['met'] else 'MISSED'} |"
        )
    for name, value in extras.items():
        if name not in ("baseline", "context_1m", "versus_peer"):
            lines.append(f"| {name} | {json.dumps(value)} | |")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "load_at_start": " ".join(f"{x:.2f}" for x in load),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


async def run_all(
    args: argparse.Namespace,
) -> tuple[list[Result], dict[str, object], list[Result]]:
    """Our scenarios (unless `--peer-only`), then the peer's (with `--peer-source`)."""
    names = args.scenario or DEFAULT_SCENARIOS
    peers: list[Result] = []
    if args.peer_source:
        from bench.peer import run_peer

        for name in names:
            peers.append(await run_peer(_scenario(name, args), args.peer_source.resolve()))
            print(json.dumps(asdict(peers[-1])), flush=True)
    if args.peer_only:
        return [], {}, peers
    results, extras = await _run_ours(names, args)
    if peers:
        from bench.peer import versus_peer

        shape = "one_process" if args.one_process else "processes"
        extras["versus_peer"] = versus_peer(results, peers, shape)
    return results, extras, peers


def _scenario(name: str, args: argparse.Namespace) -> Scenario:
    scenario = SCENARIOS[name]
    if args.messages:
        scenario = dataclasses.replace(scenario, messages=args.messages)
    return scenario


async def _run_ours(
    names: list[str], args: argparse.Namespace
) -> tuple[list[Result], dict[str, object]]:
    results: list[Result] = []
    for name in names:
        scenario = _scenario(name, args)
        first = name == names[0]
        probe = 5 if args.config_probe and first else 0
        timed = args.startup and first
        results.append(
            await run_scenario(
                scenario,
                config_changes=probe,
                measure_startup=timed,
                one_process=args.one_process,
            )
        )
        print(json.dumps(asdict(results[-1])), flush=True)
    extras: dict[str, object] = {}
    for r in results:
        if "config_change" in r.extra:
            extras["config change → LLM sees it, max ms (≤ 1000)"] = r.extra["config_change"][
                "max_ms"
            ]
    if args.baseline_messages:
        base = await baseline(args.baseline_messages)
        extras["in-process baseline msg/s"] = base["throughput"]
        if "backlog" in {r.scenario for r in results}:
            backlog = next(r for r in results if r.scenario == "backlog")
            extras["backlog / baseline throughput"] = round(
                backlog.throughput / base["throughput"], 3
            )
        extras["baseline"] = base
    if args.context_1m:
        from bench.context_1m import measure

        found = await measure()
        extras["context build, 1M messages, p50/p95 ms (≤ 10)"] = [
            found["typical_conversation_ms"]["p50"],
            found["typical_conversation_ms"]["p95"],
        ]
        extras["context_1m"] = found
    return results, extras


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help=f"repeatable; default {' '.join(DEFAULT_SCENARIOS)}",
    )
    parser.add_argument("--messages", type=int, help="override the scenarios' message count")
    parser.add_argument("--baseline-messages", type=int, default=1000, help="0: skip")
    parser.add_argument("--no-config-probe", dest="config_probe", action="store_false")
    parser.add_argument("--no-context-1m", dest="context_1m", action="store_false")
    parser.add_argument(
        "--no-startup",
        dest="startup",
        action="store_false",
        help="skip timing `up`'s start, on the migrated and on an empty database (done before "
        "the first scenario)",
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="the services in one process (ops/one_process.py) instead of one each",
    )
    parser.add_argument(
        "--peer-source",
        type=Path,
        metavar="DIR",
        help="also run the scenarios against the peer bot (n3d1117/chatgpt-telegram-bot) from "
        "its source tree DIR, first (bench/peer.py); its rows join the table, not the targets",
    )
    parser.add_argument(
        "--peer-only", action="store_true", help="with --peer-source: only the peer's rows"
    )
    args = parser.parse_args(argv)
    if args.peer_only and not args.peer_source:
        parser.error("--peer-only needs --peer-source")
    started = machine()
    results, extras, peers = asyncio.run(run_all(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    shape = "one_process" if args.one_process else "processes"
    shape = "peer" if args.peer_only else f"{shape}-peer" if peers else shape
    names = "-".join(args.scenario or DEFAULT_SCENARIOS)
    out = RESULTS / f"pipeline-{stamp}-{names}-{shape}.json"
    document = {
        "machine": {**started, "load_at_end": " ".join(f"{x:.2f}" for x in os.getloadavg())},
        "shape": shape,
        "results": [asdict(r) for r in results],
        "peer_results": [asdict(r) for r in peers],
        "extras": extras,
        "targets": judge(results, extras),
    }
    out.write_text(json.dumps(document, indent=2))
    print()
    print(f"{started['cpu']}, {started['cores']} cores, Python {started['python']}, "
          f"{started['date']}, load {started['load_at_start']}")  # fmt: skip
    print(table(results, extras, peers))
    if "versus_peer" in extras:
        from bench.peer import versus_table

        print()
        print(versus_table(cast(list[dict[str, object]], extras["versus_peer"])))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
