"""A service's /metrics read as values, for tests that watch a running process's metrics."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def scraped(base_url: str, name: str, **labels: str) -> float:
    """The sample `name` with (at least) `labels` on `base_url`'s /metrics, summed over the
    series that match; 0 when there is none."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )
