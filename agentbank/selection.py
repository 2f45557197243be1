"""Who may be exported: the consent scopes each tier needs, and the participants who gave them.

Tiers and scopes (the consent document's own sections, ``protocols/studies/*/consent``):

- ``open``: aggregated responses only (never one person's answers). Needs ``share_transcript_open``.
- ``restricted``: individual agents and answers for approved researchers. Needs
  ``share_transcript_restricted``.

Each tier needs its own scope. A participant who ticked only ``share_transcript_restricted`` is
not counted in the open tier's aggregates, and one who ticked only ``share_transcript_open`` is
never exported individually: the consent text offers the two tiers as separate choices.

A participant is eligible when they have not withdrawn (``withdrawn_at`` unset and status not
``withdrawn``) and their most recent consent (latest ``signed_at``, then highest id) is not
withdrawn and holds the tier's scope. A newer consent without the scope overrides an older one
with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Consent, Participant, Study

Tier = Literal["open", "restricted"]
TIERS: tuple[Tier, ...] = ("open", "restricted")
TIER_SCOPES: dict[str, str] = {
    "open": "share_transcript_open",
    "restricted": "share_transcript_restricted",
}


def current_consent(participant: Participant) -> Consent | None:
    """The consent that governs the participant now: the most recently signed one."""
    if not participant.consents:
        return None
    return max(participant.consents, key=lambda consent: (consent.signed_at, consent.id))


def may_export(participant: Participant, tier: str) -> bool:
    """Whether this participant's data may go into an export of ``tier``."""
    scope = TIER_SCOPES[tier]
    if participant.withdrawn_at is not None or participant.status == "withdrawn":
        return False
    consent = current_consent(participant)
    return consent is not None and consent.withdrawn_at is None and scope in (consent.scopes or [])


def eligible_participants(session: Session, study: Study, tier: str) -> list[Participant]:
    """The study's participants who may be exported in ``tier``, in id order."""
    if tier not in TIER_SCOPES:
        raise ValueError(f"unknown tier {tier!r}; use one of: {', '.join(TIERS)}")
    participants: Sequence[Participant] = session.scalars(
        select(Participant)
        .where(Participant.study_id == study.id)
        .options(selectinload(Participant.consents), selectinload(Participant.visits))
        .order_by(Participant.id)
    ).all()
    return [participant for participant in participants if may_export(participant, tier)]


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
