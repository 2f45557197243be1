"""Who may start (or resume) a recorded interview: the door check, run by the web app and again by the voice job.

A visit is admitted only when all of these hold, read from the database at the moment of asking:

* the participant is active (not withdrawn, declined or screened out) and the visit is ``started``;
* the visit's current page is its plan's ``interview`` step (a wave without one never admits);
* the participant holds a signed consent, not withdrawn, that includes `RECORDING_SCOPE`.

Consent is therefore not a matter of the order of pages: a participant still on the consent page,
in wave 2, or already finished is refused whatever the browser sends. The web dependency checks it
before anything is started; `interviewer.voice.conducting.open_conductor` checks it again, so a
LiveKit job dispatched some other way cannot record anyone either.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Consent, Participant, Visit
from storage.states import ParticipantStatus, VisitStatus

RECORDING_SCOPE = "audio_recording"
"""The consent scope (its id in study.yaml's ``consent`` list) that allows the voice interview to be recorded."""
INTERVIEW_STEP = "interview"


class NotAdmitted(Exception):
    """The visit may not start an interview now; the message says why (for staff logs, not participants)."""


def check_admission(session: Session, visit_id: int) -> Visit:
    """The visit, when it may start or resume its interview now; `NotAdmitted` otherwise."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotAdmitted(f"there is no visit {visit_id}")
    participant = session.get(Participant, visit.participant_id)
    if participant is None or participant.status != ParticipantStatus.ACTIVE:
        raise NotAdmitted(f"visit {visit_id}: the participant is not active")
    if visit.status != VisitStatus.STARTED:
        raise NotAdmitted(f"visit {visit_id} is {visit.status}, not started")
    pages = (visit.plan or {}).get("pages") or []
    if not 0 <= visit.position < len(pages) or pages[visit.position].get("step") != INTERVIEW_STEP:
        raise NotAdmitted(f"visit {visit_id} is not at its interview step")
    consents = session.scalars(select(Consent).where(Consent.participant_id == participant.id,
                                                     Consent.withdrawn_at.is_(None))).all()
    if not any(RECORDING_SCOPE in (consent.scopes or []) for consent in consents):
        raise NotAdmitted(f"visit {visit_id}: no signed consent to {RECORDING_SCOPE}")
    return visit
