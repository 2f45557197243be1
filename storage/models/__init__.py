"""Every table of voxbank, importable from one place."""

from storage.models.base import Base, utcnow
from storage.models.interview import Interview, Recording, RecordingChunk, Transcript, Turn
from storage.models.operations import AuditEvent, Export, ScheduledAction, StaffUser
from storage.models.responses import Bonus, ExperimentAssignment, GameDecision, GameOutcome, Response
from storage.models.study import Consent, Participant, Study, Visit

__all__ = [
    "AuditEvent",
    "Base",
    "Bonus",
    "Consent",
    "ExperimentAssignment",
    "Export",
    "GameDecision",
    "GameOutcome",
    "Interview",
    "Participant",
    "Recording",
    "RecordingChunk",
    "Response",
    "ScheduledAction",
    "StaffUser",
    "Study",
    "Transcript",
    "Turn",
    "Visit",
    "utcnow",
]
