"""Every interview records what conducted it: the LLM model and kind of endpoint, the prompt
version, and the safety classifier's version."""

from __future__ import annotations

from interviewer.conductor import Conductor
from interviewer.conductor.provenance import prompt_version
from interviewer.language.safety_classifier import SafetyHead
from storage import audit
from tests.interviewer.scripted_participants import interview


def test_an_interview_records_the_llm_the_prompts_and_the_safety_classifier(short_guide, llm, factory,
                                                                          stand_in) -> None:
    conductor = Conductor.start(short_guide, llm, factory)
    stored = interview(factory, conductor.interview_id)
    assert (stored.llm_model, stored.llm_endpoint) == ("gemma-3-270m", "openai-compatible")
    assert stored.prompt_version == prompt_version() and stored.prompt_version.startswith("prompts-")
    assert stored.safety_classifier_version == SafetyHead.load().version
    with factory() as session:
        start = audit.events_for(session, f"interview:{conductor.interview_id}")[0]
    assert start.details["safety_classifier_version"] == stored.safety_classifier_version
