"""``voxbank prolific sync``: compare what Prolific says with what voxbank knows, and mend what is safe.

For every Prolific study our visits came from, each submission's status is read and recorded like a
webhook event (so a missed or disabled webhook loses nothing; ``APPROVED`` settles the pending
approval). Mismatches are reported for staff, never acted on: a visit completed here whose
submission was returned, timed out or rejected on Prolific, and a submission awaiting review whose
visit is not completed here (no code, or a second tab). Participants invited to a later wave whose
window is still open are put back in the allowlist group if they are missing from it (adding is
idempotent). Everything is counted; no identity is printed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Participant, ScheduledAction, Visit
from storage.states import ActionStatus, ParticipantStatus, VisitStatus
from survey.prolific_api.client import ProlificClient, normalise_status
from survey.prolific_api.webhooks import StatusEvent, latest_statuses, record_status
from survey.scheduling.timeline import INVITATION, WINDOW_CLOSE

NOT_PAID = ("RETURNED", "TIMED_OUT", "REJECTED")


@dataclass
class StudySync:
    """One Prolific study: submissions by status and what does not agree with voxbank."""

    prolific_study_id: str
    waves: list[int]
    by_status: Counter[str] = field(default_factory=Counter)
    recorded: int = 0
    not_ours: int = 0
    completed_here_but: list[tuple[int, str]] = field(default_factory=list)
    submitted_not_completed: list[int] = field(default_factory=list)


@dataclass
class GroupSync:
    """The allowlist group: who should be in it, who is, who was put back."""

    group_id: str
    should_be_in: int = 0
    members: int = 0
    put_back: int = 0


@dataclass
class SyncReport:
    """Everything ``sync`` found."""

    studies: list[StudySync] = field(default_factory=list)
    group: GroupSync | None = None


def sync(factory: sessionmaker[Session], study_id: int, client: ProlificClient, *, group_id: str | None,
         now: datetime) -> SyncReport:
    """Read Prolific, record statuses, report mismatches, mend the group (see the module docstring)."""
    report = SyncReport()
    with factory() as session:
        studies = session.execute(
            select(Visit.prolific_study_id, Visit.wave).join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id, Visit.prolific_study_id.is_not(None))
            .distinct()
        ).all()
    waves_of: dict[str, set[int]] = {}
    for prolific_study, wave in studies:
        if prolific_study:
            waves_of.setdefault(prolific_study, set()).add(wave)
    for prolific_study in sorted(waves_of):
        report.studies.append(_sync_study(factory, study_id, client, prolific_study, sorted(waves_of[prolific_study]),
                                          now))
    if group_id:
        report.group = _sync_group(factory, study_id, client, group_id, now)
    return report


def _sync_study(factory: sessionmaker[Session], study_id: int, client: ProlificClient, prolific_study: str,
                waves: list[int], now: datetime) -> StudySync:
    out = StudySync(prolific_study, waves)
    submissions = list(client.submissions(prolific_study))
    with factory() as session, session.begin():
        visits = {v.prolific_session_id: v for v in session.scalars(
            select(Visit).join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id, Visit.prolific_study_id == prolific_study))}
        known = latest_statuses(session, [s for s in visits if s])
        for submission in submissions:
            status = normalise_status(str(submission.get("status", "")))
            out.by_status[status] += 1
            visit = visits.get(str(submission.get("id")))
            if visit is None:
                out.not_ours += 1
                continue
            if known.get(str(submission["id"])) != status:
                event = StatusEvent(f"sync:{submission['id']}:{status}", str(submission["id"]), status, now)
                if record_status(session, study_id, event, actor="system:prolific-sync") == "recorded":
                    out.recorded += 1
            if visit.status == VisitStatus.COMPLETED and status in NOT_PAID:
                out.completed_here_but.append((visit.id, status))
            if visit.status != VisitStatus.COMPLETED and status == "AWAITING_REVIEW":
                out.submitted_not_completed.append(visit.id)
    return out


def _sync_group(factory: sessionmaker[Session], study_id: int, client: ProlificClient, group_id: str,
                now: datetime) -> GroupSync:
    out = GroupSync(group_id)
    with factory() as session:
        invited = {row.participant_id: row.payload.get("wave") for row in session.scalars(
            select(ScheduledAction).join(Participant, ScheduledAction.participant_id == Participant.id)
            .where(Participant.study_id == study_id, ScheduledAction.kind == INVITATION,
                   ScheduledAction.status == ActionStatus.SENT))}
        closed = {(row.participant_id, row.payload.get("wave")) for row in session.scalars(
            select(ScheduledAction).where(ScheduledAction.kind == WINDOW_CLOSE,
                                          ScheduledAction.status == ActionStatus.SENT,
                                          ScheduledAction.participant_id.in_(list(invited) or [0])))}
        pids = dict(session.execute(select(Participant.id, Participant.prolific_pid).where(
            Participant.id.in_(list(invited) or [0]), Participant.status == ParticipantStatus.ACTIVE)).all())
    should = {pids[p] for p, wave in invited.items() if p in pids and (p, wave) not in closed}
    members = set(client.group_members(group_id))
    missing = sorted(should - members)
    if missing:
        client.add_to_group(group_id, missing)
    out.should_be_in, out.members, out.put_back = len(should), len(members), len(missing)
    return out
