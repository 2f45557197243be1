"""Stopping the sharing of one's data in future exports, without leaving the study.

Consents are append-only (the database refuses changes to a signed copy), so stopping is recorded
as a new consent row: the same document, version and text hash as the consent that governs now,
with the sharing scopes (``share_transcript_open``, ``share_transcript_restricted``) removed and
the time of the change as ``signed_at``. The newest consent governs (``agentbank.selection``), so
every later export leaves the person out, counted as ``sharing_withdrawn``. The other scopes
(taking part, audio recording) are kept: the participant stays in the study. Exports already made
cannot be recalled; the own-data page says so.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage import audit
from storage.models import Consent, Participant, utcnow

SHARING_SCOPES = ("share_transcript_open", "share_transcript_restricted")


def governing_consent(participant: Participant) -> Consent | None:
    """The consent that governs the participant now: the most recently signed one."""
    if not participant.consents:
        return None
    return max(participant.consents, key=lambda consent: (consent.signed_at, consent.id))


def shares(participant: Participant) -> list[str]:
    """The sharing scopes the participant's governing consent still gives (none once withdrawn)."""
    consent = governing_consent(participant)
    if consent is None or consent.withdrawn_at is not None:
        return []
    return [scope for scope in SHARING_SCOPES if scope in (consent.scopes or [])]


def stop_sharing(session: Session, participant: Participant) -> Consent | None:
    """Record that the participant's data goes into no future export; the new consent row, or None if
    nothing was shared (already stopped, never given, or withdrawn): calling it twice changes nothing."""
    current = governing_consent(participant)
    removed = shares(participant)
    if current is None or not removed:
        return None
    kept = [scope for scope in (current.scopes or []) if scope not in SHARING_SCOPES]
    copy = Consent(participant_id=participant.id, document_version=current.document_version, text=current.text,
                   text_hash=current.text_hash, scopes=kept, signed_at=utcnow())
    session.add(copy)
    session.flush()
    participant.consents.append(copy)
    audit.record(session, f"participant:{participant.pseudonym_id}", "consent.stop_sharing", f"consent:{copy.id}",
                 {"replaces": current.id, "removed": removed, "kept": kept})
    return copy
