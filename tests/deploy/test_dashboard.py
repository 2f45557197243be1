"""The Grafana dashboard charts only metrics voxbank really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import interviewer.metrics  # noqa: F401  (registers the interviewer's metrics)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
SCRAPED_FROM_THE_DATABASE_AND_BROKER = {"voxbank_participants", "voxbank_queue_depth"}
"""web.study_metrics.StudyCollector's families, read at scrape time."""


def exposed_names() -> set[str]:
    names = set(SCRAPED_FROM_THE_DATABASE_AND_BROKER)
    for family in REGISTRY.collect():
        if family.name.startswith("voxbank_"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
            names.update(family.name + suffix for suffix in suffixes)
    return names


def test_every_panel_queries_a_metric_that_exists() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"\bvoxbank_[a-z_]+", target["expr"])}
    assert sorted(used - exposed_names()) == []


def test_the_dashboard_covers_each_metric_family() -> None:
    text = DASHBOARD.read_text()
    families = ["voxbank_interviews_active", "voxbank_response_latency_seconds", "voxbank_llm_latency_seconds",
                "voxbank_llm_fallbacks", "voxbank_safety_events", "voxbank_queue_depth",
                "voxbank_transcription_real_time_factor", "voxbank_job_failures", "voxbank_participants"]
    assert [family for family in families if family not in text] == []
