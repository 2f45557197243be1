"""The interviewer's mind: a semi-structured conductor with adaptive follow-ups, reflection notes
and a checkpoint after every turn. It knows nothing of audio: the voice agent, the text interview
and the simulated pilot all drive it the same way.

    from interviewer.conductor import Conductor, guide_file
    conductor = Conductor.start(guide_file("short"), llm, session_factory)
    reply = conductor.open()
    while not reply.done:
        reply = conductor.respond(text, seconds)

Modules, one job each: `budget` (time), `safety` (stop, distress, refusal, injection), `memory`
(notes and transcript window), `options` (settings the wiring passes), `prompts` (the documents the
LLM continues), `decisions` (the decision schema and its checks), `state` (the checkpoint),
`persistence` (the database), and `conductor` (the order in which they are consulted).
"""

from __future__ import annotations

from pathlib import Path

from interviewer.conductor.conductor import Conductor, ConductorError, Reply, Utterance
from interviewer.conductor.options import ConductorOptions
from interviewer.conductor.persistence import ConductorStoreError, Store
from protocols import InterviewGuide, LoadedFile, load_study


def guide_file(guide_id: str, study_dir: Path | None = None) -> LoadedFile[InterviewGuide]:
    """The study's interview guide ``guide_id`` (e.g. ``avp`` or ``short``), loaded and validated."""
    study = load_study(study_dir) if study_dir is not None else load_study()
    try:
        return study.interview_guides[guide_id]
    except KeyError:
        known = ", ".join(study.interview_guides) or "(none)"
        raise ConductorError(f"the study has no interview guide {guide_id!r}; it has: {known}") from None


__all__ = ["Conductor", "ConductorError", "ConductorOptions", "ConductorStoreError", "Reply", "Store", "Utterance",
           "guide_file"]
