"""The benchmark harness (bench/pipeline.py, not part of the suite) still runs end to end:
a tiny scenario through all five real services, measured (with Postgres and Redis CPU and
`up`'s start-up time) and rendered as the figures and the targets, each met or missed."""

from __future__ import annotations

import pytest

from bench import procstat, rolling_restart, startup
from bench.pipeline import SCENARIOS, SERVICES, run_scenario, table
from bench.targets import judge
from ops.run_env import base_env
from ops.services import NAMES

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(120)
async def test_a_tiny_scenario_is_answered_measured_and_tabled() -> None:
    scenario = SCENARIOS["tiny"]
    result = await run_scenario(scenario, config_changes=1, measure_startup=True)
    assert result.answered == scenario.messages
    assert result.throughput > 0
    assert {"p50", "p99"} <= result.latency_ms.keys()
    assert set(SERVICES) == set(NAMES)  # all five run and are measured
    assert set(result.cpu_seconds) == set(NAMES) and result.cpu_ms_per_message > 0
    assert set(result.peak_rss_mb) == set(NAMES)
    assert all(0 < mb < 1000 for mb in result.peak_rss_mb.values())
    assert set(result.infra_cpu_seconds) == {
        procstat.BENCH_BACKENDS,
        procstat.PG_SERVER,
        procstat.REDIS,
    }
    assert result.infra_cpu_seconds[procstat.BENCH_BACKENDS] > 0  # the bench db's backends
    assert result.infra_cpu_ms_per_message > 0
    counts = result.extra["infra_counts"]  # what the services asked of Redis and Postgres
    assert isinstance(counts, dict) and counts["redis_calls"] > 1
    assert counts["redis"]["evalsha"]["calls"] > 0 and counts["postgres"]["xact_commit"] >= 0
    assert result.delivery == {"out_of_order": 0, "duplicates": 0, "missing": 0}
    timed = result.extra["startup"]
    assert isinstance(timed, dict) and 0 < timed["seconds"] < 60
    assert timed["processes"] == len(NAMES)
    first_start = result.extra["startup_empty"]  # migrations and the seed's import, then up
    assert isinstance(first_start, dict) and timed["seconds"] < first_start["seconds"] < 60
    samples = result.extra["rss_samples"]
    assert isinstance(samples, list) and samples[-1]["answered"] == scenario.messages
    assert set(samples[-1]["rss_mb"]) == set(NAMES)
    # shared pages counted once: less than the RSS sum, more than nothing
    assert 0 < samples[-1]["pss_total_mb"] < samples[-1]["total_mb"]
    assert result.extra["peak_pss_sum_mb"] >= samples[-1]["pss_total_mb"]
    assert any("handles queue:to_secretary" in stage for stage in result.stages_ms)
    assert any(s.startswith("assistant: waits in queue:to_secretary") for s in result.stages_ms)
    assert "rest_service: answers POST /api/threads/context" in result.stages_ms
    config_change = result.extra["config_change"]
    assert isinstance(config_change, dict) and config_change["max_ms"] < 10_000
    judged = {row["target"]: row for row in judge([result], {})}
    assert {
        "tiny: start-up s (up → all five healthy) ≤ 5",
        "tiny: messages out of per-chat order ≤ 0",
        "tiny: messages answered twice ≤ 0",
        "tiny: messages not answered ≤ 0",
    } <= judged.keys()
    assert judged["tiny: messages not answered ≤ 0"]["met"] is True
    rendered = table([result], {"probe": 1})
    assert "| tiny | 20/20 |" in rendered
    assert "| tiny: messages answered twice ≤ 0 | 0.0 | met |" in rendered


@pytest.mark.timeout(120)
def test_a_first_start_in_one_process_is_timed_from_an_empty_database(
    database_url: str, redis_url: str, secrets: dict[str, str]
) -> None:
    env = base_env(database_url, redis_url, "test:bench-start:", secrets, log_level="ERROR")
    first = startup.measure_empty(env, one_process=True)
    assert first["processes"] == 1
    # the migrations and the seed's import are timed, then the launch until all answer
    assert first["database_check_s"] > 0 and first["launch_to_healthy_s"] > 0
    assert {f"healthy_s_{name}" for name in NAMES} <= first.keys()


@pytest.mark.timeout(150)
async def test_a_tiny_rolling_restart_loses_nothing_and_asks_the_model_nothing_twice() -> None:
    figures = await rolling_restart.run(rate=5, phase_s=4, model_seconds=0.3, chats=5)
    assert figures.sent == figures.answered == 40
    assert (figures.lost, figures.answered_twice, figures.out_of_order) == (0, 0, 0)
    assert figures.model_calls > figures.sent  # the time questions take two calls
    assert figures.model_calls_repeated == 0
    assert len(figures.stop_seconds) == 2
    assert all(s < rolling_restart.GRACE_S for s in figures.stop_seconds)
    assert {"p50", "p99"} <= figures.steady_ms.keys() & figures.restart_ms.keys()
    assert "| messages lost | 0 of 40 | 0 |" in rolling_restart.table(figures)


def test_manage_bench_hands_its_arguments_to_the_benchmark(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """`./manage.py bench -- --help` is the benchmark's help (`--` ends manage.py's options,
    as for `test`), and a scenario it does not have is its own error."""
    from ops.cli import main

    assert main(["bench", "--", "--help"]) == 0
    assert "--scenario" in capfd.readouterr().out
    assert main(["bench", "--scenario", "no-such-scenario"]) == 2
    assert "invalid choice: 'no-such-scenario'" in capfd.readouterr().err


@pytest.mark.timeout(120)
async def test_the_channels_bench_answers_every_channel_and_measures_each() -> None:
    from bench.bench_channels import run

    result = await run(messages=12, users=4)
    channels = ("telegram", "web", "whatsapp", "slack")
    measured: dict[str, dict[str, float]] = {}
    for name in channels:
        figures = result[name]
        assert isinstance(figures, dict)
        measured[name] = figures
    assert {name: m["answered"] for name, m in measured.items()} == dict.fromkeys(channels, 3)
    assert all(0 < m["p50"] < 60_000 for m in measured.values()), measured
