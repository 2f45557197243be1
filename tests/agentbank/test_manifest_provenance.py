"""The export manifest says what conducted the exported interviews, counted by provenance."""

from __future__ import annotations

from types import SimpleNamespace

from agentbank.manifest import interview_provenance, provenance_counts


def test_interviews_are_counted_by_what_conducted_them() -> None:
    new = SimpleNamespace(llm_model="gemma-3-270m", llm_endpoint="embedded", prompt_version="prompts-a",
                          safety_classifier_version="safety-1.b")
    old = SimpleNamespace(llm_model=None, llm_endpoint=None, prompt_version=None, safety_classifier_version=None)
    counts = provenance_counts([interview_provenance(i) for i in (new, old, new)])
    assert counts == [
        {"llm_endpoint": "embedded", "llm_model": "gemma-3-270m", "prompt_version": "prompts-a",
         "safety_classifier_version": "safety-1.b", "interviews": 2},
        {"llm_endpoint": None, "llm_model": None, "prompt_version": None, "safety_classifier_version": None,
         "interviews": 1},
    ]
