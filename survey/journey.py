"""The participant's journey as plain functions over a database session: enter, show a page, submit it.

The web layer (``web/routes/``) calls these and renders what they return; they never commit (the
caller does) and never see HTTP.

``Journey`` is assembled from one class per concern: entry and quotas here; the consent step in
``survey.consenting``; showing and saving pages in ``survey.answering``, dispatched by the step-kind
registry of ``survey.steps`` over the typed plan of ``survey.plan``; page telemetry in
``survey.page_views``; what they share in ``survey.journey_base``. The names callers import from here
(``Shown``, ``Submitted``, ``TOKEN_FIELD``, ...) are re-exported.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import Participant, Visit, utcnow
from storage.states import INTERVIEW_ENDED, ParticipantStatus, VisitStatus
from survey import quotas, retest
from survey.answering import RESERVED, SKIP_FIELD, Answering, Shown
from survey.consenting import TOKEN_FIELD, Submitted
from survey.errors import ResumeCodeNeeded, SessionNotProven
from survey.plan import draw_plan
from survey.prolific_links import ProlificIds
from survey.runtime import StudyRuntime
from survey.steps import INTERVIEW_NOT_ENDED

__all__ = ["INTERVIEW_ENDED", "INTERVIEW_NOT_ENDED", "RESERVED", "SKIP_FIELD", "TOKEN_FIELD", "Entry", "Journey",
           "SessionCheck", "Shown", "Submitted"]


@dataclass
class Entry:
    """What entering with a study link led to."""

    kind: Literal["screener", "started", "resumed", "screened_out"]
    participant: Participant | None = None
    visit: Visit | None = None
    missing: list[str] = field(default_factory=list)


SessionCheck = Callable[[ProlificIds], bool]
"""Prolific's word on a session: whether submission ``ids.session_id`` is the participant's, in ``ids.study_id``."""


@dataclass(frozen=True)
class Journey(Answering):
    """One study's journey: the protocol, its database row and what the consent page fills in.

    ``retest_study_id`` is the only Prolific study whose links open wave 2; ``confirm_session``
    (Prolific's API, when configured) may vouch for a session id the study has not seen.
    """

    runtime: StudyRuntime
    study_id: int
    contact_email: str
    retest_study_id: str | None = None
    confirm_session: SessionCheck | None = None
    quota_hold: timedelta | None = None
    """How long an entry that has not signed the consent holds its quota place (None: for good)."""

    # ------------------------------------------------------------------ entry and quotas

    def find(self, session: Session, prolific_pid: str) -> Participant | None:
        """The participant with this Prolific id in this study, if any."""
        return session.scalars(
            select(Participant).where(Participant.study_id == self.study_id, Participant.prolific_pid == prolific_pid)
        ).first()

    def visit_of(self, session: Session, participant: Participant, wave: int = 1) -> Visit | None:
        """The participant's visit in this wave, if any."""
        return session.scalars(
            select(Visit).where(Visit.participant_id == participant.id, Visit.wave == wave)
        ).first()

    def enter(self, session: Session, ids: ProlificIds, strata: dict[str, str], *,
              rng: random.Random | None = None, holder: int | None = None, code_proven: bool = False) -> Entry:
        """Create or resume the participant for a study link.

        An existing participant (same study and Prolific id) is resumed only when the link proves it
        is them (`_prove`): a Prolific id is not a secret. ``holder`` is the participant id the
        browser's capability names, if any; ``code_proven`` says the caller checked the participant's
        resume code (``web.resume_code``). A new one needs every stratum answered (else
        ``screener``), then takes a quota place: when a cell is full they are recorded as
        ``screened_out`` (no answers kept) and never become active.
        Raises IntegrityError when the same person is created concurrently: roll back and call again.
        """
        participant = self.find(session, ids.participant_id)
        if participant is not None and participant.status == quotas.LAPSED:
            return self._return_lapsed(session, participant, ids, holder, code_proven)
        if participant is not None:
            first = self.visit_of(session, participant)
            # A later wave's link (the retest) opens that wave's visit; see survey.retest.
            later = retest.enter_later_wave(session, self.runtime, participant, first, ids,
                                            retest_study_id=self.retest_study_id)
            visit = later or first
            # A visit just created from this link holds its ids (proven); someone who has left holds nothing to take.
            if visit is not None and participant.status == ParticipantStatus.ACTIVE:
                self._prove(session, participant, visit, ids, holder, code_proven)
            audit.record(session, self._actor(participant), "participant.resume", f"participant:{participant.id}",
                         {"status": participant.status})
            kind: Literal["resumed", "screened_out"] = (
                "screened_out" if participant.status == ParticipantStatus.SCREENED_OUT else "resumed")
            return Entry(kind, participant, visit)
        strata = quotas.check_strata(self.runtime, strata)
        missing = quotas.missing_strata(self.runtime, strata)
        if missing:
            return Entry("screener", missing=missing)
        has_quotas = self.runtime.protocol.spec.quotas is not None
        if has_quotas and self.quota_hold is not None:
            quotas.release_lapsed(session, self.study_id, entered_before=utcnow() - self.quota_hold)
        if has_quotas and not quotas.reserve(session, self.study_id, strata):
            participant = Participant(study_id=self.study_id, prolific_pid=ids.participant_id,
                                      pseudonym_id=str(uuid.uuid4()), status=ParticipantStatus.SCREENED_OUT, strata={})
            session.add(participant)
            session.flush()
            audit.record(session, self._actor(participant), "participant.screened_out",
                         f"participant:{participant.id}", {"reason": "quota_full"})
            return Entry("screened_out", participant)
        seed = (rng or random.SystemRandom()).getrandbits(32)
        plan = draw_plan(self.runtime, 1, seed)
        participant = Participant(study_id=self.study_id, prolific_pid=ids.participant_id,
                                  pseudonym_id=str(uuid.uuid4()), status=ParticipantStatus.ACTIVE, strata=strata)
        visit = Visit(participant=participant, wave=1, prolific_study_id=ids.study_id,
                      prolific_session_id=ids.session_id, status=VisitStatus.STARTED, position=0,
                      current_step=plan.pages[0].step, plan=plan.as_json())
        session.add_all([participant, visit])
        session.flush()
        audit.record(session, self._actor(participant), "participant.enter", f"participant:{participant.id}",
                     {"visit": visit.id, "pages": len(plan.pages)})
        return Entry("started", participant, visit)

    def _return_lapsed(self, session: Session, participant: Participant, ids: ProlificIds,
                       holder: int | None, code_proven: bool) -> Entry:
        """A participant whose place lapsed comes back: they take a place again if one is free."""
        visit = self.visit_of(session, participant)
        assert visit is not None
        self._prove(session, participant, visit, ids, holder, code_proven)
        if participant.strata and not quotas.reserve(session, self.study_id, participant.strata):
            participant.status = ParticipantStatus.SCREENED_OUT
            participant.strata = {}
            session.flush()
            audit.record(session, self._actor(participant), "participant.screened_out",
                         f"participant:{participant.id}", {"reason": "quota_full"})
            return Entry("screened_out", participant)
        participant.status = ParticipantStatus.ACTIVE
        visit.status = VisitStatus.STARTED
        visit.started_at = utcnow()
        session.flush()
        audit.record(session, self._actor(participant), "participant.return", f"participant:{participant.id}",
                     {"visit": visit.id})
        return Entry("resumed", participant, visit)

    def _prove(self, session: Session, participant: Participant, visit: Visit, ids: ProlificIds,
               holder: int | None, code_proven: bool = False) -> None:
        """Check that a link resuming ``visit`` is its participant's; SessionNotProven when it is not.

        The link's STUDY_ID must be the visit's, and its SESSION_ID the one stored for the visit.
        A different SESSION_ID (Prolific gives a new one when a participant returns a submission
        and starts again) is accepted by one of three rules, recorded in the audit log with the
        rule: the browser already holds this participant's capability (``capability``), the
        participant typed their resume code (``resume_code``), or Prolific's API says the
        submission is this participant's in this study (``prolific_api``). Without any, the
        refusal is ``ResumeCodeNeeded``: the web layer asks for the code. Only a visit still in
        progress takes the new id; a finished visit keeps the one its submission was approved under.
        """
        if visit.prolific_study_id is not None and ids.study_id != visit.prolific_study_id:
            raise SessionNotProven(
                "This link does not match the Prolific study you started in. Please open the study from "
                f"Prolific, or write to the research team at {self.contact_email}. Nothing has been changed.")
        if visit.prolific_session_id is None or visit.prolific_session_id == ids.session_id:
            return
        if holder == participant.id:
            rule = "capability"
        elif code_proven:
            rule = "resume_code"
        elif self.confirm_session is not None and self.confirm_session(ids):
            rule = "prolific_api"
        else:
            # not audited: anyone can send a link, and a refusal changes nothing
            raise ResumeCodeNeeded(
                "This link does not match the Prolific session you started this study in. If you started on "
                "another device, enter the resume code shown at the bottom of every study page there. "
                f"Without it, please write to the research team at {self.contact_email}. Nothing has been changed.")
        if visit.status == VisitStatus.STARTED:
            audit.record(session, self._actor(participant), "visit.prolific_session_changed", f"visit:{visit.id}",
                         {"rule": rule})
            visit.prolific_session_id = ids.session_id
