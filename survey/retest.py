"""Entering a later wave (the retest) from its Prolific link: the same participant, found by PID.

The wave-2 study on Prolific points at the same entry link as wave 1 (``/study/{slug}/start``); what
tells the two apart is the Prolific study the link comes from. A participant who completed wave 1
and arrives from another Prolific study (``STUDY_ID`` differs from their wave-1 visit's) is entering
a later wave:

- a visit of that wave already started from this study is resumed;
- otherwise, if a later wave's window is open now (study.yaml as it is now: ``offset_days`` after
  wave 1 completed, for ``window_days``), its visit is created with a fresh plan (the batteries
  again; wave 2's steps have no consent and no interview) and the link's study and submission ids;
- otherwise the participant is told when the wave opens, or that it has closed (``NotAvailable``).

Only the configured wave-2 Prolific study (``VOXBANK_PROLIFIC_RETEST_STUDY_ID``) may create a later
wave's visit: a link from any other study is refused (``NotAvailable``), so an invented STUDY_ID can
neither open wave 2 nor take the real participant's place in it.

Experiment conditions follow ``keep_experiment_conditions`` (``Journey.condition`` applies it), and
answers are stored under the visit's wave. Arriving with the wave-1 link resumes wave 1 as before.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import Participant, Visit, utcnow
from storage.states import ParticipantStatus, VisitStatus
from survey.errors import NotAvailable
from survey.plan import draw_plan
from survey.prolific_links import ProlificIds
from survey.runtime import StudyRuntime
from survey.scheduling.timeline import ScheduleSource, Window


def schedule_for(runtime: StudyRuntime) -> ScheduleSource:
    """The study's schedule, re-read from its study.yaml when the file changes."""
    return ScheduleSource.for_study_dir(runtime.protocol.file.path)


def enter_later_wave(session: Session, runtime: StudyRuntime, participant: Participant, first: Visit | None,
                     ids: ProlificIds, *, retest_study_id: str | None = None, now: datetime | None = None,
                     rng: random.Random | None = None) -> Visit | None:
    """The later-wave visit this link opens (created if need be), or None when it is a wave-1 link.

    Raises NotAvailable when the link is a later wave's but no wave is open to the participant now.
    Raises IntegrityError when the same visit is created concurrently: roll back and enter again.
    """
    if (participant.status != ParticipantStatus.ACTIVE or first is None or first.status != VisitStatus.COMPLETED
            or first.completed_at is None):
        return None
    if ids.study_id == first.prolific_study_id:
        return None
    later = list(session.scalars(
        select(Visit).where(Visit.participant_id == participant.id, Visit.wave > 1).order_by(Visit.wave)
    ))
    for visit in later:
        if visit.prolific_study_id == ids.study_id:
            return visit
    if retest_study_id is None or ids.study_id != retest_study_id.lower():
        raise NotAvailable("This link is not for this study's next part. Please open the study from the "
                           "invitation you received on Prolific. Nothing has been saved.",
                           title="This link is not for this study")
    now = now or utcnow()
    started = {visit.wave for visit in later}
    timelines = sorted(schedule_for(runtime).current().items())
    windows = [timeline.window(first.completed_at) for number, timeline in timelines if number not in started]
    for window in windows:
        if window.is_open(now):
            return _start(session, runtime, participant, window, ids, rng)
    raise NotAvailable(_not_open_message(windows, now), title="This part of the study is not open")


def _start(session: Session, runtime: StudyRuntime, participant: Participant, window: Window, ids: ProlificIds,
           rng: random.Random | None) -> Visit:
    seed = (rng or random.SystemRandom()).getrandbits(32)
    plan = draw_plan(runtime, window.wave, seed)
    visit = Visit(participant_id=participant.id, wave=window.wave, prolific_study_id=ids.study_id,
                  prolific_session_id=ids.session_id, status=VisitStatus.STARTED, position=0,
                  current_step=plan.pages[0].step, plan=plan.as_json())
    session.add(visit)
    session.flush()
    audit.record(session, f"participant:{participant.pseudonym_id}", "visit.start", f"visit:{visit.id}",
                 {"wave": window.wave, "pages": len(plan.pages)})
    return visit


def _when(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def _not_open_message(windows: list[Window], now: datetime) -> str:
    upcoming = [w for w in windows if now < w.opens_at]
    if upcoming:
        return (f"Thank you for coming back. Part {upcoming[0].wave} of the study opens for you on "
                f"{_when(upcoming[0].opens_at)}; we will send you a message on Prolific when it does. "
                "Nothing has been saved.")
    if windows:
        last = windows[-1]
        return (f"Thank you for coming back. Part {last.wave} of the study closed on {_when(last.closes_at)}, "
                "so it can no longer be taken. Please return the study on Prolific. Nothing has been saved.")
    return ("Thank you for coming back. You have finished every part of this study that is open to you. "
            "Please return the study on Prolific. Nothing has been saved.")
