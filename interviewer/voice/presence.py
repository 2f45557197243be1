"""Whether the participant is there: pauses, abandonment, and what they have already heard.

Blocking database calls (run them in a thread). The interview row keeps:

* ``paused_at``: since when the interview is paused, by the page's Pause button or because no
  participant is connected; ``paused_s``: the seconds paused in all. The conductor's budget clock
  counts only speech, so nothing is spent while paused; these say how long the interview stood.
* ``heard_seq``: the last interviewer turn played to its end, so a reload does not say it again.

An interview paused because no participant is connected is marked ``abandoned`` once it has been so
for the configured time (``VOXBANK_VOICE_ABANDON_AFTER_S``); the staff's live page lists it. Each
pause, resumption and abandonment is an audit event with its reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Interview, Turn, utcnow

ACTOR = "system:voice"
IN_PROGRESS = "in_progress"
ABANDONED = "abandoned"


def pause(factory: sessionmaker[Session], interview_id: int, reason: str, at: datetime | None = None) -> bool:
    """Mark the interview paused (``reason``: ``button`` or ``disconnected``); False when it already was
    or is no longer in progress."""
    with transaction(factory) as session:
        interview = session.get(Interview, interview_id, with_for_update=True)
        if interview is None or interview.status != IN_PROGRESS or interview.paused_at is not None:
            return False
        interview.paused_at = at or utcnow()
        audit.record(session, ACTOR, "interview.paused", f"interview:{interview_id}", {"reason": reason})
        return True


def resume(factory: sessionmaker[Session], interview_id: int, reason: str, at: datetime | None = None) -> float:
    """End the interview's pause, adding its length to ``paused_s``; returns the pause's seconds (0 if none)."""
    with transaction(factory) as session:
        interview = session.get(Interview, interview_id, with_for_update=True)
        if interview is None or interview.paused_at is None:
            return 0.0
        seconds = max(0.0, ((at or utcnow()) - interview.paused_at).total_seconds())
        interview.paused_s = round((interview.paused_s or 0.0) + seconds, 3)
        interview.paused_at = None
        audit.record(session, ACTOR, "interview.resumed", f"interview:{interview_id}",
                     {"reason": reason, "paused_s": round(seconds, 3)})
        return seconds


def abandon_if_away(factory: sessionmaker[Session], interview_id: int, after_s: float,
                    now: datetime | None = None) -> bool:
    """Mark the interview ``abandoned`` if it is in progress and has been paused for ``after_s`` or more."""
    now = now or utcnow()
    with transaction(factory) as session:
        interview = session.get(Interview, interview_id, with_for_update=True)
        if interview is None or interview.status != IN_PROGRESS or interview.paused_at is None:
            return False
        if now - interview.paused_at < timedelta(seconds=after_s):
            return False
        interview.status = ABANDONED
        interview.ended_at = now
        span = f"{round(after_s / 60)} minutes" if after_s >= 120 else f"{after_s:g} seconds"
        interview.end_reason = f"abandoned: no participant connected for {span}"
        audit.record(session, ACTOR, "interview.abandoned", f"interview:{interview_id}",
                     {"after_s": after_s, "paused_since": interview.paused_at.isoformat()})
        return True


def abandon_stale(factory: sessionmaker[Session], after_s: float, now: datetime | None = None) -> list[int]:
    """Mark abandoned every interview in progress that nobody has been at for ``after_s``; their ids.

    The web process marks an interview abandoned when its own timer runs out, but that timer dies
    with the process. This sweep (run by the scheduler's tick) catches the rest: interviews paused
    for ``after_s``, and interviews never paused whose last turn (or start) is that old, as a
    process that stopped leaves them. Each is first paused from its last sign of life, so the
    audit trail reads the same as the web process's own.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=after_s)
    last_turn = (select(Turn.interview_id, func.max(Turn.created_at).label("at"))
                 .group_by(Turn.interview_id).subquery())
    with factory() as session:
        rows = session.execute(
            select(Interview.id, Interview.paused_at, Interview.started_at, last_turn.c.at)
            .outerjoin(last_turn, last_turn.c.interview_id == Interview.id)
            .where(Interview.status == IN_PROGRESS)).all()
    abandoned = []
    for interview_id, paused_at, started_at, last_at in rows:
        if paused_at is None:
            seen = max((moment for moment in (last_at, started_at) if moment is not None), default=None)
            if seen is None or seen > cutoff:
                continue
            pause(factory, interview_id, "silent", at=seen)
        if abandon_if_away(factory, interview_id, after_s, now=now):
            abandoned.append(interview_id)
    return abandoned


def mark_heard(factory: sessionmaker[Session], interview_id: int, seq: int) -> None:
    """Interviewer turn ``seq`` was played to its end."""
    with transaction(factory) as session:
        interview = session.get(Interview, interview_id, with_for_update=True)
        if interview is not None and (interview.heard_seq is None or seq > interview.heard_seq):
            interview.heard_seq = seq


def last_reply_heard(factory: sessionmaker[Session], interview_id: int) -> str | None:
    """The interviewer's last words, when the participant heard them to the end (a reload need not repeat
    them); None when they have not (or nothing was said)."""
    with factory() as session:
        interview = session.get(Interview, interview_id)
        if interview is None or interview.heard_seq is None:
            return None
        last_answer = session.scalar(select(func.max(Turn.seq)).where(Turn.interview_id == interview_id,
                                                                      Turn.speaker == "participant"))
        reply = list(session.scalars(select(Turn).where(Turn.interview_id == interview_id,
                                                        Turn.seq > (-1 if last_answer is None else last_answer))
                                     .order_by(Turn.seq)))
        if not reply or any(turn.speaker != "interviewer" for turn in reply) or reply[-1].seq > interview.heard_seq:
            return None
        return " ".join(turn.text for turn in reply)
