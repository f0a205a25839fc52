"""The whole pipeline on this machine: Telegram stand-in → tg_bot → queue → assistant →
LLM stand-in → queue → tg_bot → Telegram stand-in, every service a real process.

Run with `./manage.py bench` (or `python -m bench.pipeline`). Prints a table against the
targets of the faults-and-load issue and writes `bench/results/<date>-<scenario>.json`.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiohttp import ClientSession
from openai import AsyncOpenAI

from common.crypto import generate_key
from common.infra import find_postgres, find_redis
from sandbox.llm_server import LlmStandIn
from sandbox.telegram_api import TelegramStandIn
from sandbox.telegram_updates import private_text
from sandbox.telegram_updates import user as tg_user
from tests.harness import ROOT, Stack, TestDatabase, migrate

RESULTS = ROOT / "bench" / "results"
TOKEN = "424242:BENCH-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Scenario:
    name: str
    messages: int
    users: int
    text: str
    rate: float | None = None  # messages per second; None = a backlog all at once
    real_limits: bool = False


SCENARIOS = {
    "backlog": Scenario("backlog", 2000, 200, "hello there"),
    "backlog_tool": Scenario("backlog_tool", 2000, 200, "what time is it?"),
    "steady": Scenario("steady", 600, 200, "hello there", rate=20.0),
    "real_limits": Scenario("real_limits", 120, 20, "hello there", real_limits=True),
}


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
    stages_ms: dict[str, float]
    telegram_429s: int
    max_sends_per_second: float
    max_sends_per_chat_second: float
    extra: dict[str, object] = field(default_factory=dict)


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


async def _histogram_means(url: str) -> dict[str, float]:
    """Mean handling time per stream from a service's /metrics (queue_handle_seconds)."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith("queue_handle_seconds_sum"):
            stream = line.split('stream="')[1].split('"')[0]
            sums[stream] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("queue_handle_seconds_count"):
            stream = line.split('stream="')[1].split('"')[0]
            counts[stream] = float(line.rsplit(" ", 1)[1])
    return {s: round(1000 * sums[s] / counts[s], 2) for s in sums if counts.get(s)}


class Pipeline:
    """Stand-ins in this process (Telegram) and a thread (LLM); services as processes."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.telegram = TelegramStandIn(TOKEN, bot_username="bench_bot")
        self.llm = LlmStandIn(record=False)
        self.stack: Stack | None = None
        self._db: TestDatabase | None = None
        self._db_url = ""

    async def start(self, scenario: Scenario) -> None:
        await self.telegram.start()
        self.llm.start_in_thread()
        pg, rd = find_postgres(), find_redis()
        if pg is None or rd is None:
            raise SystemExit("the benchmark needs Postgres and Redis (see ./manage.py up)")
        self._db = TestDatabase(pg.url)
        self._db_url = self._db.create(f"sa_bench_{uuid.uuid4().hex[:8]}")
        migrate(self._db_url)
        limits = {} if scenario.real_limits else {
            "SEND_LIMIT_OVERALL_PER_SECOND": "100000",
            "SEND_LIMIT_CHAT_PER_SECOND": "100000",
            "SEND_LIMIT_GROUP_PER_MINUTE": "100000",
        }  # fmt: skip
        env = {
            "ENVIRONMENT": "test",
            "ASYNC_DATABASE_URL": self._db_url,
            "REDIS_URL": rd.url,
            "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
            "ADMIN_API_TOKEN": uuid.uuid4().hex,
            "SERVICE_API_TOKEN": uuid.uuid4().hex,
            "LLM_MODEL_DECRYPT_KEY": generate_key(),
            "TELEGRAM_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": self.telegram.url,
            "OPENAI_BASE_URL": f"{self.llm.url}/v1",
            "OPENAI_API_KEY": "sk-bench",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "POLL_TIMEOUT_SECONDS": "5",
            **limits,
        }
        self.stack = Stack(env, self.workdir)
        await asyncio.to_thread(self._start_services, env)

    def _start_services(self, env: dict[str, str]) -> None:
        import subprocess

        assert self.stack is not None
        subprocess.run(
            [sys.executable, "-m", "rest_service.seed"],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        self.stack.start("rest_service")
        self.stack.start("assistant")
        self.stack.start("tg_bot")

    async def stop(self) -> None:
        if self.stack:
            await asyncio.to_thread(self.stack.stop_all)
        await self.telegram.stop()
        self.llm.stop_thread()
        if self._db and self._db_url:
            self._db.drop(self._db_url)

    def pids(self) -> dict[str, int]:
        assert self.stack is not None
        return {n: p.proc.pid for n, p in self.stack.processes.items() if p.proc}

    async def run(self, scenario: Scenario) -> Result:
        users = [7_000_000 + i for i in range(scenario.users)]
        cpu_before = {n: _proc_cpu_seconds(p) for n, p in self.pids().items()}
        injected: dict[int, list[float]] = {u: [] for u in users}
        started = time.monotonic()
        if scenario.rate:
            for i in range(scenario.messages):
                due = started + i / scenario.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self._inject(users[i % len(users)], scenario.text, injected)
        else:
            for i in range(scenario.messages):
                self._inject(users[i % len(users)], scenario.text, injected)
        with contextlib.suppress(AssertionError):  # a shortfall is reported, not raised
            await self.telegram.wait_sent(
                scenario.messages, timeout=max(120.0, scenario.messages / 5)
            )
        first = min(t for times in injected.values() for t in times)
        last = max((m.at for m in self.telegram.sent), default=first)
        seconds = last - first
        cpu = {n: round(_proc_cpu_seconds(p) - cpu_before[n], 2) for n, p in self.pids().items()}
        latencies = self._latencies(injected)
        stages = {}
        assert self.stack is not None
        for name in ("assistant", "tg_bot"):
            for stream, ms in (await _histogram_means(self.stack.url(name))).items():
                stages[f"{name} handles {stream}"] = ms
        answered = len(self.telegram.sent)
        return Result(
            scenario=scenario.name,
            messages=scenario.messages,
            users=scenario.users,
            answered=answered,
            seconds=round(seconds, 2),
            throughput=round(answered / seconds, 1) if seconds else 0.0,
            latency_ms=_percentiles(latencies),
            cpu_ms_per_message=round(1000 * sum(cpu.values()) / max(1, answered), 2),
            cpu_seconds=cpu,
            peak_rss_mb={n: round(_proc_peak_rss_mb(p), 1) for n, p in self.pids().items()},
            stages_ms=stages,
            telegram_429s=sum(1 for r in self.telegram.rejected if r.status == 429),
            max_sends_per_second=self._max_rate(None),
            max_sends_per_chat_second=max((self._max_rate(u) for u in users[:20]), default=0),
        )

    def _inject(self, user: int, text: str, injected: dict[int, list[float]]) -> None:
        injected[user].append(time.monotonic())
        self.telegram.inject(private_text(tg_user(user, f"U{user}"), text))

    def _latencies(self, injected: dict[int, list[float]]) -> list[float]:
        """Per chat, the nth answer pairs with the nth message (chats are answered in order)."""
        out: list[float] = []
        for chat, times in injected.items():
            for sent_at, msg in zip(times, self.telegram.sent_to(chat), strict=False):
                out.append(1000 * (msg.at - sent_at))
        return out

    def _max_rate(self, chat: int | None) -> float:
        sent = self.telegram.sent if chat is None else self.telegram.sent_to(chat)
        stamps = sorted(m.at for m in sent)
        best, j = 0, 0
        for i, t in enumerate(stamps):
            while stamps[j] < t - 1.0:
                j += 1
            best = max(best, i - j + 1)
        return float(best)


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


async def run_scenarios(names: list[str]) -> list[Result]:
    results = []
    for name in names:
        scenario = SCENARIOS[name]
        with tempfile.TemporaryDirectory() as tmp:
            pipeline = Pipeline(Path(tmp))
            try:
                await pipeline.start(scenario)
                result = await pipeline.run(scenario)
            finally:
                await pipeline.stop()
        results.append(result)
        print(json.dumps(asdict(result), indent=2), flush=True)
    return results


def machine() -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="repeatable; default all"
    )
    parser.add_argument("--baseline-messages", type=int, default=1000)
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    results = asyncio.run(run_scenarios(names))
    base = asyncio.run(baseline(args.baseline_messages))
    print(json.dumps({"baseline": base}, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    out = RESULTS / f"pipeline-{stamp}.json"
    out.write_text(json.dumps(
        {"machine": machine(), "results": [asdict(r) for r in results], "baseline": base},
        indent=2,
    ))  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
