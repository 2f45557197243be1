"""Every table of voxbank, importable from one place."""

from storage.models.agentbank import PiiReplacement
from storage.models.base import Base, utcnow
from storage.models.interview import Interview, Recording, RecordingChunk, SafetyEvent, Transcript, Turn
from storage.models.journey import AssignmentBlock, PageView, QuotaCell
from storage.models.operations import AuditEvent, Export, ExportParticipant, ScheduledAction, StaffUser
from storage.models.responses import Bonus, ExperimentAssignment, GameDecision, GameOutcome, Response
from storage.models.staff import StaffApiToken, StaffSession, StaffSigninFailure
from storage.models.study import Consent, Participant, Study, Visit

__all__ = [
    "AssignmentBlock",
    "AuditEvent",
    "Base",
    "Bonus",
    "Consent",
    "ExperimentAssignment",
    "Export",
    "ExportParticipant",
    "GameDecision",
    "GameOutcome",
    "Interview",
    "PageView",
    "Participant",
    "PiiReplacement",
    "QuotaCell",
    "Recording",
    "RecordingChunk",
    "Response",
    "SafetyEvent",
    "ScheduledAction",
    "StaffApiToken",
    "StaffSession",
    "StaffSigninFailure",
    "StaffUser",
    "Study",
    "Transcript",
    "Turn",
    "Visit",
    "utcnow",
]
