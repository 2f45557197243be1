"""Bonuses are set up, then paid, exactly once: computed -> set_up -> paid, whatever answers are lost."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from prolific_standin import TOKEN
from retest_fixtures import T0, WAVE1_STUDY, add_completer, pid, submission
from sqlalchemy import select

from storage.models import AuditEvent, Bonus, ScheduledAction
from survey.prolific_api import ProlificClient
from survey.scheduling.runner import retry

MINUTE = timedelta(minutes=1)


def add_bonus(factory, participant_id: int, cents: int = 425) -> int:
    with factory() as session, session.begin():
        bonus = Bonus(participant_id=participant_id, wave=1, amount_cents=cents, game_id="game1_DG",
                      computation={"rule": "preselected_game"}, status="computed",
                      idempotency_key=f"bonus:{participant_id}:1", created_at=T0)
        session.add(bonus)
        session.flush()
        return bonus.id


def bonus_row(factory, bonus_id: int) -> Bonus:
    with factory() as session:
        bonus = session.get(Bonus, bonus_id)
        assert bonus is not None
        return bonus


def payment_action(factory) -> ScheduledAction:
    with factory() as session:
        return session.scalars(select(ScheduledAction).where(ScheduledAction.kind == "bonus_payment")).one()


def bonus_outcomes(report) -> list[tuple[str, str]]:
    return [(o.result, o.detail) for o in report.outcomes if o.kind == "bonus_payment"]


@pytest.fixture
def paid_setup(session_factory, study_id, prolific):
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    return add_bonus(session_factory, participant_id)


def test_a_bonus_is_set_up_then_paid_once(session_factory, paid_setup, make_scheduler, prolific, clock) -> None:
    scheduler = make_scheduler()
    assert bonus_outcomes(scheduler.run_due()) == [("sent", "set up and paid")]
    bonus = bonus_row(session_factory, paid_setup)
    [bulk_id] = prolific.state.bulk_bonuses
    assert (bonus.status, bonus.prolific_bonus_id, bonus.paid_at) == ("paid", bulk_id, T0)
    [setup_call] = [c for c in prolific.calls if c.path == "/api/v1/submissions/bonus-payments/"]
    assert setup_call.body == {"study_id": WAVE1_STUDY, "csv_bonuses": f"{pid(1)},4.25"}
    assert prolific.state.submissions[submission(1)]["bonus_payments"] == [425.0]
    clock.at(T0 + timedelta(days=30))
    assert bonus_outcomes(scheduler.run_due()) == []
    assert prolific.bonuses_paid() == 1
    with session_factory() as session:
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"bonus:{paid_setup}")
                                .order_by(AuditEvent.id)).all()
    assert events == ["bonus.set_up", "bonus.paid"]


def test_a_lost_answer_to_the_pay_call_is_confirmed_on_the_submission_not_paid_again(
        session_factory, paid_setup, make_scheduler, prolific, clock) -> None:
    scheduler = make_scheduler()
    prolific.fail("POST", "/api/v1/bulk-bonus-payments/.*", "500_after")
    [(result, detail)] = bonus_outcomes(scheduler.run_due())
    assert (result, bonus_row(session_factory, paid_setup).status) == ("retry", "set_up")
    assert detail.endswith("Prolific answered 500: {\"error\":{\"detail\":\"stand-in 500 after acting\"}}; "
                           "it may have taken effect")
    assert payment_action(session_factory).payload["pay_requested_at"] == T0.isoformat()
    clock.at(T0 + 2 * MINUTE)
    assert bonus_outcomes(scheduler.run_due()) == [
        ("sent", "an earlier pay request went through (seen on the submission)")]
    assert (prolific.count("POST", "/api/v1/bulk-bonus-payments/.*/pay/"), prolific.bonuses_paid()) == (1, 1)
    assert bonus_row(session_factory, paid_setup).status == "paid"


def test_a_payment_prolific_makes_later_is_waited_for(session_factory, paid_setup, make_scheduler, prolific,
                                                      clock) -> None:
    scheduler = make_scheduler()
    prolific.pay_delay_s = 1.0  # Prolific pays asynchronously
    prolific.fail("POST", "/api/v1/bulk-bonus-payments/.*", "500_after")
    scheduler.run_due()
    clock.at(T0 + 2 * MINUTE)
    [(result, detail)] = bonus_outcomes(scheduler.run_due())
    assert result == "later" and detail.startswith("a pay request was sent at ")
    assert payment_action(session_factory).claimed_until == T0 + 7 * MINUTE
    time.sleep(1.2)
    clock.at(T0 + 8 * MINUTE)
    assert bonus_outcomes(scheduler.run_due())[0][0] == "sent"
    assert prolific.bonuses_paid() == 1


def test_a_pay_request_that_never_shows_is_left_to_staff_and_paid_once_when_they_say_so(
        session_factory, paid_setup, make_scheduler, prolific, clock) -> None:
    # The state a worker leaves when it dies after marking the pay request and before Prolific acted on it.
    with ProlificClient(prolific.url, TOKEN) as client:
        bulk = client.set_up_bonus(WAVE1_STUDY, [(pid(1), 425)])
    scheduler = make_scheduler()
    scheduler.plan()
    with session_factory() as session, session.begin():
        bonus = session.get(Bonus, paid_setup)
        bonus.status, bonus.prolific_bonus_id = "set_up", bulk.id
        action = session.scalars(select(ScheduledAction).where(ScheduledAction.kind == "bonus_payment")).one()
        action.payload = {**action.payload, "pay_requested_at": T0.isoformat()}
    clock.at(T0 + 30 * MINUTE)
    assert bonus_outcomes(scheduler.run_due())[0][0] == "later"
    clock.at(T0 + 61 * MINUTE)
    [(result, detail)] = bonus_outcomes(scheduler.run_due())
    action_id = payment_action(session_factory).id
    assert (result, detail) == ("failed", (
        f"a pay request was sent at {T0:%Y-%m-%d %H:%M:%S} UTC and no bonus of 4.25 shows on submission "
        f"{submission(1)}; check Prolific, then `voxbank schedule retry {action_id} --pay-again` to pay it"))
    assert prolific.bonuses_paid() == 0
    with session_factory() as session, session.begin(), pytest.raises(ValueError, match="add --pay-again"):
        retry(session, action_id, actor="staff:test")
    with session_factory() as session, session.begin():
        retry(session, action_id, actor="staff:test", pay_again=True)
    assert bonus_outcomes(scheduler.run_due()) == [("sent", "set up and paid")]
    assert prolific.bonuses_paid() == 1 and len(prolific.state.bulk_bonuses) == 1
    assert bonus_row(session_factory, paid_setup).status == "paid"


def test_a_refused_or_rate_limited_pay_call_did_not_pay_and_is_simply_repeated(
        session_factory, paid_setup, make_scheduler, prolific, clock, sleeps) -> None:
    scheduler = make_scheduler()
    prolific.fail("POST", "/api/v1/bulk-bonus-payments/.*", "429", retry_after="3", times=3)
    [(result, detail)] = bonus_outcomes(scheduler.run_due())
    assert result == "retry" and detail.endswith("answered 429: {\"error\":{\"detail\":\"stand-in 429\"}} (3 tries)")
    assert sleeps == [3.0, 3.0] and payment_action(session_factory).payload["pay_requested_at"] is None
    clock.at(T0 + 5 * MINUTE)
    assert bonus_outcomes(scheduler.run_due()) == [("sent", "set up and paid")]
    assert prolific.bonuses_paid() == 1 and len(prolific.state.bulk_bonuses) == 1


def test_a_zero_bonus_is_not_sent_to_prolific(session_factory, study_id, make_scheduler, prolific) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    bonus_id = add_bonus(session_factory, participant_id, cents=0)
    assert bonus_outcomes(make_scheduler().run_due()) == [("cancelled", "the bonus is 0.00: nothing to pay")]
    assert bonus_row(session_factory, bonus_id).status == "none_due"
    assert prolific.state.bulk_bonuses == {}
