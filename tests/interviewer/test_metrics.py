"""The interviewer's Prometheus metrics count what happens in interviews (never who said what)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from interviewer.conductor import Conductor

ANSWER = "My grandmother raised me on a farm outside Tulsa."


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_unusable_llm_reply_counts_as_a_fallback_with_its_reason(short_guide, llm, factory, stand_in) -> None:
    before = sample("voxbank_llm_fallbacks_total", reason="bad_reply")
    stand_in.on_decision = lambda call: "{not json"
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond(ANSWER, 8.0)
    assert sample("voxbank_llm_fallbacks_total", reason="bad_reply") == before + 1


def test_every_llm_completion_is_timed(short_guide, llm, factory, stand_in) -> None:
    before = sample("voxbank_llm_latency_seconds_count", kind="json")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond(ANSWER, 8.0)
    assert sample("voxbank_llm_latency_seconds_count", kind="json") >= before + 1


def test_a_stop_request_counts_as_a_safety_event(short_guide, llm, factory) -> None:
    asked = sample("voxbank_safety_events_total", kind="stop_check", source="classifier")
    stopped = sample("voxbank_safety_events_total", kind="stop", source="confirmed")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond("I want to stop the interview now.", 3.0)  # heard by the classifier, confirmed once
    conductor.respond("Yes.", 1.0)
    assert sample("voxbank_safety_events_total", kind="stop_check", source="classifier") == asked + 1
    assert sample("voxbank_safety_events_total", kind="stop", source="confirmed") == stopped + 1
