"""Benchmark (not a test): the assistant's orchestration, one process, a backlog of messages.

Starts rest_service and one `python -m assistant` on a database and Redis prefix of their
own (the local servers, or TEST_DATABASE_URL / TEST_REDIS_URL), with the chat-completions
stand-in (`python -m sandbox.llm_server`) answering at once. Every message asks for the time,
so each turn is two completions and one `time` tool call, plus its rest_service calls (user,
thread, recent window, long-term search, tool invocation, history batch). Queues `--messages`
at once over `--chats` chats and reports:

* messages per second, from the first queued to the last answered;
* p50 / p99 orchestration time per message (taking the message to queueing its answer, as
  the assistant logs it in `message_handled.turn_ms`);
* the assistant process's resident memory after the run (and its peak).

    .venv/bin/python bench/bench_assistant.py [--messages 10000] [--chats 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import BenchEnvironment
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.redis_keys import Names
from ops.infra import free_port
from ops.processes import ServiceProcess, Stack, spawn, wait_healthy
from ops.services import ROOT

REPLIES = "bench:replies"
MODEL = "bench-model"


def config_document(llm_base_url: str) -> dict[str, object]:
    time_schema = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["now", "convert", "resolve"]},
            "timezone": {"type": "string"},
        },
        "required": ["action"],
    }
    return {
        "providers": [{"name": "bench", "base_url": llm_base_url, "api_key": "sk-bench"}],
        "models": [{"provider": "bench", "provider_model_name": MODEL, "is_default": True}],
        "assistants": [
            {"name": "bench-secretary", "is_secretary": True, "instructions": "Be brief."}
        ],
        "tools": [
            {
                "name": "time",
                "tool_type": "time",
                "description": "The time",
                "input_schema": time_schema,
            }
        ],
        "links": [{"assistant": "bench-secretary", "tool": "time"}],
    }


def start_llm(port: int) -> subprocess.Popen[bytes]:
    process = spawn(
        "sandbox.llm_server",
        dict(os.environ),
        ROOT,
        subprocess.DEVNULL,
        detached=False,
        args=("--port", str(port), "--no-record"),
    )
    wait_healthy("the LLM stand-in", f"http://127.0.0.1:{port}", process, lambda: "", 30)
    return process


def users(rest_url: str, token: str, count: int) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    made = []
    with httpx.Client(base_url=rest_url, headers=headers, timeout=30) as http:
        for i in range(count):
            body = {"telegram_id": 900_000 + i, "first_name": f"Bench{i}", "language": "en"}
            made.append(http.post("/api/users/", json=body).raise_for_status().json())
    return made


async def queue_and_wait(
    redis_url: str, names: Names, chats: list[dict[str, object]], total: int
) -> float:
    """Queue `total` messages at once, round robin over the chats; seconds until the last
    answer is on the reply stream."""
    redis = aioredis.Redis.from_url(redis_url)
    try:
        started = time.perf_counter()
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(total):
                user = chats[i % len(chats)]
                message = IncomingMessage(
                    message_id=uuid.uuid4(),
                    chat_id=int(user["telegram_id"]),
                    user_id=uuid.UUID(str(user["id"])),
                    first_name=str(user["first_name"]),
                    text="what time is it?",
                    reply_stream=REPLIES,
                )
                pipe.xadd(names.to_secretary, {"data": message.to_json()})
            await pipe.execute()
        last_report = 0.0
        while (answered := await redis.xlen(names.stream(REPLIES))) < total:
            now = time.perf_counter() - started
            if now - last_report >= 10:
                print(f"  {answered}/{total} answered after {now:.0f} s", flush=True)
                last_report = now
            await asyncio.sleep(0.2)
        return time.perf_counter() - started
    finally:
        await redis.aclose()


def turn_times(process: ServiceProcess) -> list[float]:
    times = []
    for line in process.logs().splitlines():
        if '"message_handled"' in line:
            times.append(float(json.loads(line)["turn_ms"]))
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="ASSISTANT_CONCURRENCY")
    args = parser.parse_args()

    bench = BenchEnvironment.open("assistant", log_level="INFO")
    llm_port = free_port()
    llm = start_llm(llm_port)
    stack = Stack(bench.env, Path(tempfile.mkdtemp(prefix="bench-assistant-")))
    try:
        stack.start("rest_service")
        rest_url = stack.url("rest_service")
        stack.import_config(config_document(f"http://127.0.0.1:{llm_port}/v1"))
        chats = users(rest_url, bench.env["SERVICE_API_TOKEN"], args.chats)
        assistant = stack.start(
            "assistant",
            env={
                "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
                "OPENAI_API_KEY": "sk-bench",
                "ASSISTANT_CONCURRENCY": str(args.concurrency),
            },
        )
        rest = stack["rest_service"]
        assert assistant.proc is not None and rest.proc is not None
        rss_idle, _ = memory_mib(assistant.proc.pid)
        cpu_before = cpu_seconds(assistant.proc.pid), cpu_seconds(rest.proc.pid)
        print(
            f"assistant: {args.messages} messages over {args.chats} chats, "
            f"concurrency {args.concurrency}, idle RSS {rss_idle:.0f} MiB",
            flush=True,
        )
        elapsed = asyncio.run(queue_and_wait(bench.redis_url, bench.names, chats, args.messages))
        time.sleep(0.5)
        rss, peak = memory_mib(assistant.proc.pid)
        cpu_assistant = cpu_seconds(assistant.proc.pid) - cpu_before[0]
        cpu_rest = cpu_seconds(rest.proc.pid) - cpu_before[1]
        times = turn_times(assistant)
        cuts = statistics.quantiles(times, n=100)
        print(f"throughput        {args.messages / elapsed:8.1f} messages/s ({elapsed:.1f} s)")
        print(f"orchestration     p50 {cuts[49]:8.1f} ms   p99 {cuts[98]:8.1f} ms")
        print(f"memory after run  {rss:8.0f} MiB RSS (peak {peak:.0f} MiB)")
        per = 1000 / args.messages
        print(
            f"CPU per message   assistant {cpu_assistant * per:.1f} ms, "
            f"rest_service {cpu_rest * per:.1f} ms (machine: {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.1f})"
        )
    finally:
        stack.stop_all()
        llm.terminate()
        llm.wait(10)
        bench.close()


if __name__ == "__main__":
    main()
