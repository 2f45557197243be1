"""Approving completed submissions and paying bonuses exactly once.

Approval waits until Prolific holds the submission as awaiting review (the participant may take a
while to go back to Prolific; after ``SUBMIT_GRACE`` staff are asked), counts an already approved
submission as done, and reports one that was returned, timed out or rejected.

A bonus is paid in two calls: set up (``POST /submissions/bonus-payments/``, which pays nothing and
returns a bulk payment id) and pay (``POST /bulk-bonus-payments/{id}/pay/``, which Prolific documents
as NOT idempotent: every call pays). The bonus row moves ``computed`` -> ``set_up`` -> ``paid``:

1. ``computed``: set up, then commit the id and ``set_up`` (fenced on the claim). A crash before the
   commit leaves an unpaid set-up on Prolific, which costs nothing; the retry sets up again.
2. ``set_up``: commit ``pay_requested_at`` on the action *before* the pay call, then pay, then commit
   ``paid``. A pay call that certainly did not take effect (429, 503, refused connection, 4xx)
   clears the mark again.
3. An attempt that finds ``pay_requested_at`` (an earlier attempt died or lost its answer after
   sending the pay request) does not pay: it reads the submission's ``bonus_payments`` on Prolific.
   The amount is there: ``paid``. Not yet: Prolific pays asynchronously, so it looks again every few
   minutes for ``SETTLE``; still nothing after that, the action fails for staff to check on Prolific
   (``voxbank schedule retry ID --pay-again`` pays again). Money is never paid on a guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from storage import audit
from storage.models import Bonus, Participant, Visit
from storage.states import BonusStatus, VisitStatus
from survey.prolific_api import ProlificOutcomeUnknown, ProlificRejected, ProlificUnavailable
from survey.prolific_api.client import normalise_status
from survey.scheduling.handling import Job, Result

STILL_OPEN = ("RESERVED", "ACTIVE", "PROCESSING")
SUBMIT_GRACE = timedelta(days=1)
"""How long after a visit is completed its submission may stay open on Prolific before staff are asked."""
SETTLE = timedelta(hours=1)
"""How long an interrupted pay request is given to show up on the submission before staff are asked."""
CHECK_EVERY_S = 300.0
ACTOR = "system:scheduler"


def handle_approval(job: Job) -> Result:
    """Approve the completed visit's submission once Prolific has it awaiting review."""
    visit = job.session.get(Visit, int(job.action.payload.get("visit_id", 0)))
    if visit is None:
        return Result.cancelled("the visit no longer exists")
    if visit.status != VisitStatus.COMPLETED or visit.completed_at is None:
        return Result.cancelled(f"the visit is {visit.status}")
    submission = visit.prolific_session_id
    if not submission:
        return Result.cancelled("the visit has no Prolific submission")
    job.before_call()
    status = normalise_status(str(job.client.submission(submission).get("status", "")))
    if status == "APPROVED":
        return Result.sent("already approved on Prolific")
    if status in STILL_OPEN:
        if job.now() - visit.completed_at < SUBMIT_GRACE:
            return job.later_by(CHECK_EVERY_S * 3, f"the submission is {status} on Prolific: waiting for the "
                                                  "participant to submit it")
        return Result("failed", f"the submission is still {status} on Prolific a day after the visit was "
                                "completed here: the participant may not have gone back to Prolific")
    if status != "AWAITING_REVIEW":
        return Result("failed", f"the submission is {status} on Prolific and cannot be approved")
    job.before_call()
    try:
        job.client.approve(submission)
    except ProlificRejected:
        if normalise_status(str(job.client.submission(submission).get("status", ""))) == "APPROVED":
            return Result.sent("already approved on Prolific")
        raise
    return Result.sent("approved")


def handle_bonus(job: Job) -> Result:
    """Set up and pay one bonus, once (see the module docstring)."""
    bonus = job.session.scalars(
        select(Bonus).where(Bonus.id == int(job.action.payload.get("bonus_id", 0)))
        .execution_options(populate_existing=True)
    ).first()
    if bonus is None:
        return Result.cancelled("the bonus no longer exists")
    if bonus.status == BonusStatus.PAID:
        return Result.sent("already paid")
    if bonus.status not in (BonusStatus.COMPUTED, BonusStatus.SET_UP):
        return Result.cancelled(f"the bonus is {bonus.status}")
    if bonus.amount_cents <= 0:
        bonus.status = BonusStatus.NONE_DUE
        return Result.cancelled("the bonus is 0.00: nothing to pay")
    participant = job.session.get(Participant, bonus.participant_id)
    visit = job.session.scalars(
        select(Visit).where(Visit.participant_id == bonus.participant_id, Visit.wave == bonus.wave)
    ).first()
    if participant is None or visit is None or not visit.prolific_study_id:
        return Result("failed", f"no Prolific study is recorded for the participant's wave-{bonus.wave} visit")
    if bonus.status == BonusStatus.COMPUTED:
        job.before_call()
        setup = job.client.set_up_bonus(visit.prolific_study_id, [(participant.prolific_pid, bonus.amount_cents)])
        bonus.prolific_bonus_id = setup.id
        bonus.status = BonusStatus.SET_UP
        audit.record(job.session, ACTOR, "bonus.set_up", f"bonus:{bonus.id}",
                     {"prolific_bonus_id": setup.id, "amount_cents": bonus.amount_cents})
        job.commit_fenced()
    requested = job.payload.get("pay_requested_at")
    if requested:
        return _after_interrupted_pay(job, bonus, visit, datetime.fromisoformat(requested))
    assert bonus.prolific_bonus_id is not None
    job.before_call(pay_requested_at=job.now().isoformat())
    try:
        job.client.pay_bonus(bonus.prolific_bonus_id)
    except (ProlificUnavailable, ProlificRejected):
        job.before_call(pay_requested_at=None)  # it certainly did not take effect
        raise
    except ProlificOutcomeUnknown:
        raise  # the mark stays: the next attempt looks before it pays
    _paid(job, bonus, "paid")
    return Result.sent("set up and paid")


def _after_interrupted_pay(job: Job, bonus: Bonus, visit: Visit, requested: datetime) -> Result:
    submission = visit.prolific_session_id
    if submission:
        paid = job.client.submission(submission).get("bonus_payments") or []
        if any(round(float(amount)) == bonus.amount_cents for amount in paid):
            _paid(job, bonus, "paid_confirmed")
            return Result.sent("an earlier pay request went through (seen on the submission)")
    now = job.now()
    if submission and now < requested + SETTLE:
        until = min(requested + SETTLE, now + timedelta(seconds=CHECK_EVERY_S))
        return Result.later(until, f"a pay request was sent at {requested:%Y-%m-%d %H:%M:%S} UTC and its outcome "
                                   "is not known yet; checking the submission again")
    return Result("failed", f"a pay request was sent at {requested:%Y-%m-%d %H:%M:%S} UTC and no bonus of "
                            f"{bonus.amount_cents / 100:.2f} shows on submission {submission or '(none recorded)'}; "
                            f"check Prolific, then `voxbank schedule retry {job.action.id} --pay-again` to pay it")


def _paid(job: Job, bonus: Bonus, how: str) -> None:
    bonus.status = BonusStatus.PAID
    bonus.paid_at = job.now()
    audit.record(job.session, ACTOR, "bonus.paid", f"bonus:{bonus.id}",
                 {"prolific_bonus_id": bonus.prolific_bonus_id, "amount_cents": bonus.amount_cents, "how": how})
