"""Simulated-participant pilots: personas from the study's quotas, an LLM speaking as each, a
simulated clock, and a report of coverage, pacing, follow-ups, latency and prompt size.

    from interviewer.pilot import run_pilot
    report = run_pilot(llm=llm, session_factory=factory, study=study, guide_file=guide, personas=3)
"""

from interviewer.pilot.clock import SimulatedClock
from interviewer.pilot.participant import SimulatedParticipant
from interviewer.pilot.personas import Persona, draw_personas
from interviewer.pilot.report import PARK_FOLLOWUPS_PER_QUESTION, format_report, pilot_report
from interviewer.pilot.run import drive, run_persona, run_pilot

__all__ = [
    "PARK_FOLLOWUPS_PER_QUESTION",
    "Persona",
    "SimulatedClock",
    "SimulatedParticipant",
    "draw_personas",
    "drive",
    "format_report",
    "pilot_report",
    "run_persona",
    "run_pilot",
]
