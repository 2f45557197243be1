"""Running simulated interviews: N personas through the whole guide on a simulated clock.

Each pilot interview is stored like any other (``Interview.mode = "pilot"``, no visit), with the
persona in its checkpoint's ``meta``; the report is computed from the database afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from interviewer.conductor import Conductor, ConductorOptions, Reply
from interviewer.conductor.memory import condition_notes
from interviewer.llm.client import LLMClient
from interviewer.pilot.clock import SimulatedClock
from interviewer.pilot.participant import SimulatedParticipant
from interviewer.pilot.personas import Persona, draw_personas
from interviewer.pilot.report import pilot_report
from protocols import InterviewGuide, LoadedFile, Study

Answer = Callable[[Reply], tuple[str, float]]
"""Given what the interviewer said, the participant's answer and how many seconds it took."""


def drive(conductor: Conductor, answer: Answer, *, progress: tqdm | None = None) -> Reply:
    """Run ``conductor`` to its end with ``answer`` speaking for the participant; returns the last reply."""
    reply = conductor.open()
    while not reply.done:
        text, seconds = answer(reply)
        reply = conductor.respond(text, seconds)
        if progress is not None:
            progress.update(conductor.state.position - progress.n)
    if progress is not None:
        progress.update(progress.total - progress.n)
    return reply


def run_persona(persona: Persona, *, llm: LLMClient, session_factory: sessionmaker[Session],
                guide_file: LoadedFile[InterviewGuide], progress: bool = True,
                options: ConductorOptions | None = None) -> int:
    """One simulated interview; returns its id."""
    guide = guide_file.data
    conductor = Conductor.start(guide_file, llm, session_factory, mode="pilot", options=options)
    conductor.state.meta = {"persona": persona.as_dict()}
    participant = SimulatedParticipant(persona, llm, interviewer_name=guide.interviewer_name)
    clock = SimulatedClock()

    def answer(reply: Reply) -> tuple[str, float]:
        clock.heard(reply)
        text = participant.answer(reply)
        return text, clock.answer_seconds(text)

    with tqdm(total=len(guide.questions()), desc=f"persona {persona.id} ({persona.talkativeness})",
              unit="question", leave=False, disable=not progress) as bar:
        drive(conductor, answer, progress=bar)
    return conductor.interview_id


def run_pilot(*, llm: LLMClient, session_factory: sessionmaker[Session], study: Study,
              guide_file: LoadedFile[InterviewGuide], personas: int, seed: int = 0, skip: int = 0,
              progress: bool = True, options: ConductorOptions | None = None) -> dict[str, Any]:
    """Run ``personas`` simulated interviews and return the pilot report; ``skip`` leaves out the first
    personas of the draw (so two processes can share one draw's personas between them)."""
    drawn = draw_personas(study, personas, seed=seed, condition_notes=list(condition_notes(guide_file.data)))[skip:]
    interview_ids = []
    with tqdm(total=len(drawn), desc="pilot", unit="interview", disable=not progress) as bar:
        for persona in drawn:
            interview_ids.append(run_persona(persona, llm=llm, session_factory=session_factory,
                                             guide_file=guide_file, progress=progress, options=options))
            bar.update(1)
    return pilot_report(session_factory, guide_file.data, interview_ids)
