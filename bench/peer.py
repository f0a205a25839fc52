"""The peer bot (n3d1117/chatgpt-telegram-bot) in the pipeline's scenarios, measured by the
pipeline's own code (bench/pipeline.py: the same stand-ins, updates, pacing, /proc figures and
percentiles), so its rows sit beside ours in one table: `python -m bench.pipeline
--peer-source DIR` (or `--peer-only`). DIR is the peer's source tree (its `bot/` and
`requirements.txt`); its dependencies go into an environment of their own,
`.data/bench/peer-venv`, made with the project's uv from its requirements.txt and reused while
that file is unchanged.

The peer streams every answer: its first sendMessage carries the first text, then it edits that
message as more comes, the last edit being the finished answer. Its per-chat order is read from
the " [n]" each echoed answer carries. It counts tokens with tiktoken, whose o200k_base file it
would download; this machine reaches package registries only, so the file is rebuilt from the
ranks the npm package js-tiktoken ships and checked against tiktoken's own SHA-256.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import manage
from bench.pipeline import (
    _MARKER,
    TOKEN,
    Pipeline,
    Result,
    Scenario,
    _percentiles,
)
from bench.targets import RESULT_FIGURES
from sandbox.telegram_api import SentMessage
from sandbox.telegram_live import Edit
from sandbox.telegram_updates import private_text
from sandbox.telegram_updates import user as tg_user

PEER = "peer"
LAUNCHER = Path(__file__).with_name("peer_launcher.py")
DATA = manage.ROOT / ".data" / "bench"
PEER_VENV = DATA / "peer-venv"
TIKTOKEN_CACHE = DATA / "peer-tiktoken"
#: tiktoken (the peer's pinned 0.7.0) looks for this URL's file under sha1(URL) in its cache.
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
JS_TIKTOKEN = "js-tiktoken@1.0.21"
#: A chat outside the scenarios' (7 000 000 + i): its message waits while the peer starts.
WARM_USER = 6_999_999
START_TIMEOUT_S = 60.0


# -- the peer's environment --------------------------------------------------------------------


def peer_python(source: Path) -> Path:
    """The peer environment's interpreter, made or brought up to its requirements.txt."""
    requirements = source / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".requirements-sha256"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    uv = manage._uv()
    subprocess.run(
        [uv, "venv", "--quiet", "--allow-existing", "--python", manage.python_for_sync(uv),
         str(PEER_VENV)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(python),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    stamp.write_text(digest)
    return python


def tiktoken_ranks(js_module: str) -> bytes:
    """tiktoken's `.tiktoken` file (`<base64 token> <rank>` a line, by rank) from js-tiktoken's
    ranks module (`export default {..., "bpe_ranks": "<tag> <first rank> <token> <token>…\\n…"}`:
    the tokens of a line have consecutive ranks)."""
    body = js_module.strip().removeprefix("export default").strip().removesuffix(";")
    ranks: dict[int, str] = {}
    for line in json.loads(body)["bpe_ranks"].splitlines():
        if not line.strip():
            continue
        _tag, first, *tokens = line.split(" ")
        for offset, token in enumerate(tokens):
            ranks[int(first) + offset] = token
    return "".join(f"{ranks[rank]} {rank}\n" for rank in sorted(ranks)).encode()


def tiktoken_cache() -> Path:
    """A TIKTOKEN_CACHE_DIR holding o200k_base (the peer's default model gpt-4o uses it)."""
    target = TIKTOKEN_CACHE / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == O200K_SHA256:
        return TIKTOKEN_CACHE
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", "--silent", "--pack-destination", tmp, JS_TIKTOKEN],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        with tarfile.open(Path(tmp) / packed) as archive:
            member = archive.extractfile("package/dist/ranks/o200k_base.js")
            assert member is not None
            body = tiktoken_ranks(member.read().decode())
    if hashlib.sha256(body).hexdigest() != O200K_SHA256:
        raise SystemExit(f"o200k_base rebuilt from {JS_TIKTOKEN} does not match tiktoken's hash")
    TIKTOKEN_CACHE.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    return TIKTOKEN_CACHE


def peer_env(telegram_url: str, llm_url: str, tiktoken_dir: Path) -> dict[str, str]:
    """The peer's settings: its defaults (gpt-4o, streaming, everyone allowed, no plugins),
    pointed at the stand-ins."""
    from bench.peer_launcher import API_BASE_VARIABLE

    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONUNBUFFERED": "1",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"{llm_url}/v1",
        API_BASE_VARIABLE: telegram_url,
        "TIKTOKEN_CACHE_DIR": str(tiktoken_dir),
    }


# -- what the run measures ---------------------------------------------------------------------


def answer_times(
    injected: dict[int, list[float]], sent: Iterable[SentMessage], edits: Iterable[Edit]
) -> tuple[list[float], list[float]]:
    """Milliseconds from each message to its answer's first visible text (the sendMessage) and
    to its finished text (the last edit of that message, or the send when none came), paired by
    the " [n]" the answer's text now carries: the nth message of its chat."""
    last_edit: dict[tuple[int, int], float] = {}
    for edit in edits:
        key = (edit.chat_id, edit.message_id)
        last_edit[key] = max(edit.at, last_edit.get(key, edit.at))
    first: list[float] = []
    finished: list[float] = []
    for message in sent:
        found = _MARKER.search(message.text)
        times = injected.get(message.chat_id, [])
        if found is None or int(found.group(1)) >= len(times):
            continue
        asked = times[int(found.group(1))]
        done = max(message.at, last_edit.get((message.chat_id, message.message_id), message.at))
        first.append(1000 * (message.at - asked))
        finished.append(1000 * (done - asked))
    return first, finished


def chats_out_of_order(sent: Iterable[SentMessage]) -> int:
    """Chats where an answer came before the answer to an earlier message of theirs."""
    numbers: dict[int, list[int]] = {}
    for message in sent:
        if found := _MARKER.search(message.text):
            numbers.setdefault(message.chat_id, []).append(int(found.group(1)))
    return sum(1 for seen in numbers.values() if seen != sorted(seen))


class PeerPipeline(Pipeline):
    """The pipeline with the peer in place of our services: the same stand-ins (Telegram in
    this process, the LLM in a thread), the same scenarios, the peer as one process."""

    def __init__(self, workdir: Path, source: Path, python: Path, tiktoken_dir: Path) -> None:
        super().__init__(workdir)
        self.source = source
        self.python = python
        self.tiktoken_dir = tiktoken_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "peer.log"

    async def start(self, scenario: Scenario) -> None:
        """Start the peer with one message already waiting: start to answering is from the
        launch to that answer's first text (its import, tiktoken's load, the first turn)."""
        await self.telegram.start()
        await self._start_llm(scenario)
        env = peer_env(self.telegram.url, self._llm_url, self.tiktoken_dir)
        self.telegram.inject(private_text(tg_user(WARM_USER, "warm"), "hello there [0]"))
        launched = time.monotonic()
        self.process = await asyncio.to_thread(self._launch, env)
        await self._until(lambda: bool(self.telegram.sent), "answer its first message")
        first = self.telegram.sent[0]
        self.startup = {"seconds": round(first.at - launched, 2)}
        await self._until(lambda: _MARKER.search(first.text) is not None, "finish it")

    def _launch(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        command = [str(self.python), "-P", str(LAUNCHER), str(self.source)]
        with self.log.open("wb") as log:
            return subprocess.Popen(
                command, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )

    async def _until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not done():
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"the peer did not {what}:\n{tail}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 5)
        await super().stop()

    def pids(self) -> dict[str, int]:
        assert self.process is not None
        return {PEER: self.process.pid}

    def _infra_cpu(self) -> None:
        return None  # no database, no Redis

    async def _infra_counters(self) -> None:
        return None  # no database, no Redis

    async def _stages(self) -> dict[str, float]:
        return {}

    async def _wait_answered(self, scenario: Scenario) -> None:
        """Every message's answer sent and finished (its text carries its " [n]")."""
        await super()._wait_answered(scenario)
        deadline = time.monotonic() + max(60.0, scenario.messages / 20)
        while any(_MARKER.search(m.text) is None for m in self.telegram.sent):
            if time.monotonic() > deadline:
                raise AssertionError("answers left unfinished")
            await asyncio.sleep(0.02)

    def _output_times(self) -> list[float]:
        return [*super()._output_times(), *(e.at for e in self.telegram.live.edits)]

    def _latencies(self, injected: dict[int, list[float]]) -> list[float]:
        """To the finished answer (the peer answers a chat's messages in any order)."""
        return answer_times(injected, self.telegram.sent, self.telegram.live.edits)[1]

    def _answer_extra(self, injected: dict[int, list[float]]) -> dict[str, object]:
        first, _finished = answer_times(injected, self.telegram.sent, self.telegram.live.edits)
        return {
            "first_text_ms": _percentiles(first),
            "chats_out_of_order": chats_out_of_order(self.telegram.sent),
            "edits": len(self.telegram.live.edits),
            # Its Markdown edits: the stand-in parses HTML only, and the peer edits again plain.
            "rejected": dict(Counter(f"{r.method} {r.status}" for r in self.telegram.rejected)),
        }


async def run_peer(scenario: Scenario, source: Path) -> Result:
    """One scenario against a freshly started peer (`source`: an absolute path); the row is
    named "<scenario>, peer"."""
    python = await asyncio.to_thread(peer_python, source)
    tiktoken_dir = await asyncio.to_thread(tiktoken_cache)
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = PeerPipeline(Path(tmp), source, python, tiktoken_dir)
        try:
            await pipeline.start(scenario)
            result = await pipeline.run(scenario)
        finally:
            await pipeline.stop()
    return dataclasses.replace(result, scenario=f"{scenario.name}, peer")


# -- the one-process work's targets set against the peer (docs/benchmarks.md, "Side by side") --

#: One process: VmHWM summed at most this (MB); separate processes: the second figure.
MEMORY_LIMIT_MB = {"one_process": 180.0, "processes": 400.0}


def _first_text_p50(result: Result) -> float | None:
    """The first visible text: a streamed run's first draft, else the answer itself."""
    first = RESULT_FIGURES["first visible text p50 ms"](result)
    return first if first is not None else result.latency_ms.get("p50")


def versus_peer(ours: list[Result], peers: list[Result], shape: str) -> list[dict[str, Any]]:
    """The one-process work's targets that are set against the peer or measured beside it, each
    {"target", "ours", "peer", "met"}: backlog from the "backlog" rows, paced from "steady"."""
    by_name = {r.scenario: r for r in ours}
    peer_by = {r.scenario.removesuffix(", peer"): r for r in peers}
    rows: list[dict[str, Any]] = []

    def add(target: str, mine: float | None, theirs: float | None, met: bool | None) -> None:
        rows.append({"target": target, "ours": mine, "peer": theirs, "met": met})

    figure = RESULT_FIGURES
    if (b := by_name.get("backlog")) and (pb := peer_by.get("backlog")):
        ratio = round(b.throughput / pb.throughput, 2) if pb.throughput else None
        add("backlog msg/s, ≥ 5× the peer's", b.throughput, pb.throughput,
            ratio is not None and ratio >= 5)  # fmt: skip
        add("backlog CPU ms/msg (services) ≤ 8", b.cpu_ms_per_message, pb.cpu_ms_per_message,
            b.cpu_ms_per_message <= 8)  # fmt: skip
        infra = figure["CPU ms/msg, Postgres + Redis"](b)
        add("backlog CPU ms/msg in Postgres + Redis ≤ 2", infra, None,
            infra is not None and infra <= 2)  # fmt: skip
    if (s := by_name.get("steady")) and (ps := peer_by.get("steady")):
        add("paced CPU ms/msg ≤ the peer's", s.cpu_ms_per_message, ps.cpu_ms_per_message,
            s.cpu_ms_per_message <= ps.cpu_ms_per_message)  # fmt: skip
        mine, theirs = _first_text_p50(s), _first_text_p50(ps)
        add("paced first visible text p50 ms ≤ the peer's", mine, theirs,
            mine is not None and theirs is not None and mine <= theirs)  # fmt: skip
        finished = s.latency_ms.get("p50")
        add("paced finished answer p50 ms ≤ 15", finished, ps.latency_ms.get("p50"),
            finished is not None and finished <= 15)  # fmt: skip
    limit = MEMORY_LIMIT_MB[shape]
    for name, r in by_name.items():
        p = peer_by.get(name)
        memory = figure["VmHWM MB, five services summed"](r)
        add(f"{name}: VmHWM MB, all processes ≤ {limit:g}", memory,
            figure["VmHWM MB, five services summed"](p) if p else None,
            memory is not None and memory <= limit)  # fmt: skip
        peer_start = figure["start-up s (up → all five healthy)"](p) if p else None
        start = figure["start-up s (up → all five healthy)"](r)
        if start is not None:
            add("start to answering s, migrated database ≤ 1.5", start, peer_start,
                start <= 1.5)  # fmt: skip
        # The peer keeps no database: its one start is set beside both of ours.
        first = figure["start-up s, empty database (up migrates, seeds → all healthy)"](r)
        if first is not None:
            add("start to answering s, empty database ≤ 3", first, peer_start,
                first <= 3)  # fmt: skip
        if p is not None:
            add(f"{name}: chats with an answer out of order",
                _chats_out_of_order(r), _chats_out_of_order(p), None)  # fmt: skip
    return rows


def _chats_out_of_order(result: Result) -> int | None:
    """The peer's count; ours is 0 when no answer came out of order (else not counted)."""
    counted = result.extra.get("chats_out_of_order")
    if isinstance(counted, int):
        return counted
    return 0 if result.delivery.get("out_of_order") == 0 else None


def versus_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| target | ours | peer | met |", "|---|---|---|---|"]
    for row in rows:
        met = {True: "met", False: "MISSED", None: ""}[row["met"]]
        lines.append(f"| {row['target']} | {row['ours']} | {row['peer']} | {met} |")
    return "\n".join(lines)
