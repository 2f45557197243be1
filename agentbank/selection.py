"""Who may be exported: the consent scopes each tier needs, and the participants who gave them.

Tiers and scopes (the consent document's own sections, ``protocols/studies/*/consent``):

- ``open``: aggregated responses only (never one person's answers). Needs ``share_transcript_open``.
- ``restricted``: individual agents and answers for approved researchers. Needs
  ``share_transcript_restricted``.

Each tier needs its own scope. A participant who ticked only ``share_transcript_restricted`` is
not counted in the open tier's aggregates, and one who ticked only ``share_transcript_open`` is
never exported individually: the consent text offers the two tiers as separate choices.

A participant is eligible when they have not withdrawn (``withdrawn_at`` unset and status not
``withdrawn``), their most recent consent (latest ``signed_at``, then highest id) is not
withdrawn and holds the tier's scope (a newer consent without the scope overrides an older one
with it: that is how a participant's "stop sharing" on their own data page is recorded, counted
as ``sharing_withdrawn``), and **their interview ended**:

- an interview ``completed`` (every applicable question asked), or
- an interview ``stopped`` or ``abandoned`` after the participant had said at least
  ``MIN_WORDS_IF_STOPPED`` words (counted over their live turns in all their interviews): enough
  of a life story to stand for them. Park et al. exported only people who finished; 300 words is
  about five minutes of speech, the length of the guide's first question alone.

An interview still ``pending`` or ``in_progress``, or no interview at all, leaves the person out.
Each person left out is counted under one reason (``REASONS``, the first that applies), and the
manifest reports the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Consent, Interview, Participant, Study, Visit
from storage.states import InterviewStatus, ParticipantStatus

Tier = Literal["open", "restricted"]
TIERS: tuple[Tier, ...] = ("open", "restricted")
TIER_SCOPES: dict[str, str] = {
    "open": "share_transcript_open",
    "restricted": "share_transcript_restricted",
}
MIN_WORDS_IF_STOPPED = 300
STOPPED = (InterviewStatus.STOPPED, InterviewStatus.ABANDONED)
REASONS = {
    "withdrawn": "withdrew from the study",
    "consent_withdrawn": "withdrew their consent",
    "sharing_withdrawn": "took back sharing for future exports (on their own data page)",
    "no_consent_for_tier": "did not consent to sharing in this tier",
    "no_interview": "has no interview",
    "interview_not_ended": "interview not ended (pending or in progress)",
    "interview_stopped_too_short": f"interview stopped with fewer than {MIN_WORDS_IF_STOPPED} participant words",
}


@dataclass
class Selection:
    """Who is exported, and how many were left out for each reason of ``REASONS``."""

    participants: list[Participant]
    left_out: Counter[str] = field(default_factory=Counter)


def current_consent(participant: Participant) -> Consent | None:
    """The consent that governs the participant now: the most recently signed one."""
    if not participant.consents:
        return None
    return max(participant.consents, key=lambda consent: (consent.signed_at, consent.id))


def may_export(participant: Participant, tier: str) -> bool:
    """Whether this participant's consent lets their data go into an export of ``tier``."""
    return consent_reason(participant, tier) is None


def consent_reason(participant: Participant, tier: str) -> str | None:
    """Why the participant's withdrawal or consent keeps them out of ``tier`` (a key of REASONS), or None."""
    if participant.withdrawn_at is not None or participant.status == ParticipantStatus.WITHDRAWN:
        return "withdrawn"
    consent = current_consent(participant)
    if consent is not None and consent.withdrawn_at is not None:
        return "consent_withdrawn"
    if consent is None or TIER_SCOPES[tier] not in (consent.scopes or []):
        earlier = [c for c in participant.consents if c is not consent and c.withdrawn_at is None]
        if any(TIER_SCOPES[tier] in (c.scopes or []) for c in earlier):
            return "sharing_withdrawn"  # a newer copy without the scope: ``survey.sharing.stop_sharing``
        return "no_consent_for_tier"
    return None


def participant_words(interviews: Sequence[Interview]) -> int:
    """The words the participant said in these interviews' live turns."""
    return sum(len(turn.text.split()) for interview in interviews for turn in interview.turns
               if turn.speaker == "participant")


def interview_reason(interviews: Sequence[Interview]) -> str | None:
    """Why the person's interviews keep them out (a key of REASONS), or None when an interview ended."""
    if not interviews:
        return "no_interview"
    if any(interview.status == InterviewStatus.COMPLETED for interview in interviews):
        return None
    if not any(interview.status in STOPPED for interview in interviews):
        return "interview_not_ended"
    return None if participant_words(interviews) >= MIN_WORDS_IF_STOPPED else "interview_stopped_too_short"


def select_participants(session: Session, study: Study, tier: str) -> Selection:
    """The study's participants who may be exported in ``tier`` (id order), and who was left out why."""
    if tier not in TIER_SCOPES:
        raise ValueError(f"unknown tier {tier!r}; use one of: {', '.join(TIERS)}")
    participants: Sequence[Participant] = session.scalars(
        select(Participant)
        .where(Participant.study_id == study.id)
        .options(selectinload(Participant.consents),
                 selectinload(Participant.visits).selectinload(Visit.interviews).selectinload(Interview.turns))
        .order_by(Participant.id)
    ).all()
    selection = Selection([])
    for participant in participants:
        interviews = [interview for visit in participant.visits for interview in visit.interviews]
        reason = consent_reason(participant, tier) or interview_reason(interviews)
        if reason is None:
            selection.participants.append(participant)
        else:
            selection.left_out[reason] += 1
    return selection


def eligible_participants(session: Session, study: Study, tier: str) -> list[Participant]:
    """The study's participants who may be exported in ``tier``, in id order."""
    return select_participants(session, study, tier).participants


def find_study(session: Session, slug: str | None) -> Study:
    """The study to export: the one named, or the only one in the database."""
    studies = list(session.scalars(select(Study).order_by(Study.id)))
    if slug is not None:
        for study in studies:
            if study.slug == slug:
                return study
        raise LookupError(f"no study {slug!r} in the database; known: {', '.join(s.slug for s in studies) or 'none'}")
    if len(studies) != 1:
        known = ", ".join(s.slug for s in studies) or "none"
        raise LookupError(f"the database holds {len(studies)} studies ({known}); name one with --study")
    return studies[0]
