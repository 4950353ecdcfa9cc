"""Reading /metrics as Prometheus does, and what moved between two scrapes."""

from __future__ import annotations

from collections import Counter

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]
OURS = ("mamori_logins", "mamori_second_factor", "mamori_throttled", "mamori_delivery")


def parse(text: str) -> dict[Sample, float]:
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def scrape(client: TestClient | httpx.Client, **headers: str) -> dict[Sample, float]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


def moved(before: dict[Sample, float], after: dict[Sample, float]) -> Counter[Sample]:
    """The event counters (not the latency histogram) that changed, and by how much."""
    return Counter(
        {
            key: after[key] - before.get(key, 0.0)
            for key in after
            if key[0].startswith(OURS)
            and key[0].endswith("_total")
            and after[key] != before.get(key, 0.0)
        }
    )


def sample(name: str, **labels: str) -> Sample:
    return (name, frozenset(labels.items()))
