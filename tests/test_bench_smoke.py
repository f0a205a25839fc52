"""The benchmark harness (bench/pipeline.py, not part of the suite) still runs end to end:
a tiny scenario through every real service, measured and rendered as the table."""

from __future__ import annotations

import pytest

from bench.pipeline import SCENARIOS, SERVICES, run_scenario, table


@pytest.mark.timeout(60)
async def test_a_tiny_scenario_is_answered_measured_and_tabled() -> None:
    scenario = SCENARIOS["tiny"]
    result = await run_scenario(scenario, config_changes=1)
    assert result.answered == scenario.messages
    assert result.throughput > 0
    assert {"p50", "p99"} <= result.latency_ms.keys()
    assert set(result.cpu_seconds) == set(SERVICES) and result.cpu_ms_per_message > 0
    assert all(0 < mb < 1000 for mb in result.peak_rss_mb.values())
    assert any("handles queue:to_secretary" in stage for stage in result.stages_ms)
    assert result.extra["config_change"]["max_ms"] < 10_000
    rendered = table([result], {"probe": 1})
    assert "| tiny | 20/20 |" in rendered
