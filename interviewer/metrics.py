"""The Prometheus metrics the interviewer records, and the registry a scrape reads.

Every voxbank process may run several processes of its kind (uvicorn workers, Celery's prefork
pool), so metrics are written in prometheus_client's multiprocess mode whenever the process's
launcher has set ``PROMETHEUS_MULTIPROC_DIR`` (``voxbank.metrics.prepare_process`` does); a
scrape then sums the files of every process (`scrape_registry`). Gauges say how they combine.

Labels never carry personal data or ids: only closed sets (reason, kind, queue, outcome).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values

INTERVIEWS_ACTIVE = Gauge(
    "voxbank_interviews_active", "Voice interview sessions running now, in this process group",
    multiprocess_mode="livesum",
)
RESPONSE_LATENCY = Histogram(
    "voxbank_response_latency_seconds",
    "From the end of the participant's speech to the interviewer's first audio",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0),
)
LLM_LATENCY = Histogram(
    "voxbank_llm_latency_seconds", "One LLM completion, from request to the whole reply", ["kind"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0),
)
LLM_FALLBACKS = Counter(
    "voxbank_llm_fallbacks", "LLM replies that could not be used; the interview went on with the script", ["reason"],
)
SAFETY_EVENTS = Counter(
    "voxbank_safety_events", "Safety events in interviews (stop, distress, refusal, injection ...)", ["kind", "source"],
)
TRANSCRIPTION_RTF = Histogram(
    "voxbank_transcription_real_time_factor", "Seconds of Whisper per second of audio, per channel",
    ["device"], buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0),
)
JOB_FAILURES = Counter(
    "voxbank_job_failures", "Background jobs that failed", ["job"],
)


def multiprocess_enabled() -> bool:
    """Whether this process writes its metrics to the multiprocess folder."""
    return values.ValueClass is not values.MutexValue


def scrape_registry() -> CollectorRegistry:
    """The registry a scrape reads: every process's files in multiprocess mode, else this process."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
