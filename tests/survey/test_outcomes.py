"""The outcome job pairs completers' stored decisions, writes every payoff once, then the bonuses."""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from survey_helpers import add_decisions, add_participant, random_decisions

from storage.db import transaction
from storage.models import AuditEvent, Bonus, GameDecision, GameOutcome, Visit
from survey.games import payoffs
from survey.games.outcomes import compute_outcomes
from survey.journey import Journey


def _completers(session_factory: sessionmaker[Session], journey: Journey, numbers: range, seed: int = 0) -> None:
    rng = random.Random(seed)
    with transaction(session_factory) as session:
        for n in numbers:
            _, visit = add_participant(session, journey, n, visit_status="completed")
            add_decisions(session, journey, visit, random_decisions(rng))


def _outcomes_by_game(session: Session) -> dict[str, int]:
    rows = session.execute(select(GameDecision.game_id, func.count(GameOutcome.id))
                           .join(GameOutcome, GameOutcome.decision_id == GameDecision.id)
                           .group_by(GameDecision.game_id))
    return dict(rows.all())  # type: ignore[arg-type]


def test_every_completer_is_paired_and_paid_once(session_factory: sessionmaker[Session], journey: Journey) -> None:
    _completers(session_factory, journey, range(1, 9))
    with transaction(session_factory) as session:
        report = compute_outcomes(session, journey.runtime, rng=random.Random(1))
    assert report.outcomes == {"game1_DG": 8, "game2_TF1": 8, "game3_TF2": 8, "game4_PG": 8, "game5_PD": 8}
    assert report.waiting == {"game1_DG": 0, "game2_TF1": 0, "game3_TF2": 0, "game4_PG": 0, "game5_PD": 0}
    assert report.bonuses == 8
    with session_factory() as session:
        assert _outcomes_by_game(session) == report.outcomes
        assert session.scalar(select(func.count(Bonus.id))) == 8
        assert session.scalars(select(AuditEvent.action)).all() == ["games.outcomes"]

    with transaction(session_factory) as session:
        again = compute_outcomes(session, journey.runtime, rng=random.Random(2))
    assert sum(again.outcomes.values()) == 0
    assert again.bonuses == 0
    with session_factory() as session:
        assert session.scalar(select(func.count(GameOutcome.id))) == 40
        assert session.scalar(select(func.count(Bonus.id))) == 8


def test_payoffs_follow_the_partners_stored_decisions(session_factory: sessionmaker[Session], journey: Journey) -> None:
    _completers(session_factory, journey, range(1, 9), seed=5)
    with transaction(session_factory) as session:
        compute_outcomes(session, journey.runtime, rng=random.Random(4))
    games = journey.runtime.games
    with session_factory() as session:
        decisions = {d.id: d for d in session.scalars(select(GameDecision))}
        for outcome in session.scalars(select(GameOutcome)):
            own = decisions[outcome.decision_id]
            partners = [decisions[i] for i in outcome.partner_decision_ids]
            assert all(p.visit_id != own.visit_id for p in partners)
            if own.game_id == "game1_DG":
                (partner,) = partners
                assert partner.game_id == "game1_DG"
                expected = payoffs.dictator(games["game1_DG"], own.decision["amount"], partner.decision["amount"])  # type: ignore[arg-type]
            elif own.game_id == "game2_TF1":
                (partner,) = partners
                assert partner.game_id == "game3_TF2"
                expected = payoffs.trust(games["game2_TF1"], games["game3_TF2"], own.decision["amount"],  # type: ignore[arg-type]
                                         partner.decision["amounts"])[0]
            elif own.game_id == "game3_TF2":
                (partner,) = partners
                assert partner.game_id == "game2_TF1"
                expected = payoffs.trust(games["game2_TF1"], games["game3_TF2"], partner.decision["amount"],  # type: ignore[arg-type]
                                         own.decision["amounts"])[1]
            elif own.game_id == "game4_PG":
                assert len(partners) == 3
                group = [own, *partners]
                expected = payoffs.public_goods(games["game4_PG"], [d.decision["amount"] for d in group])[0]  # type: ignore[arg-type]
            else:
                (partner,) = partners
                expected = payoffs.prisoners_dilemma(games["game5_PD"], own.decision["choice"],  # type: ignore[arg-type]
                                                     partner.decision["choice"])
            assert outcome.payoff_cents == expected, own.game_id
        # Pairing is mutual: if A's dictator partner is B, B's is A.
        dictator = {o.decision_id: o.partner_decision_ids[0] for o in session.scalars(select(GameOutcome))
                    if decisions[o.decision_id].game_id == "game1_DG"}
        assert all(dictator[partner] == own for own, partner in dictator.items())


def test_the_bonus_is_the_dictator_game_payoff(session_factory: sessionmaker[Session], journey: Journey) -> None:
    with transaction(session_factory) as session:
        for n, given in ((1, 0), (2, 5)):
            _, visit = add_participant(session, journey, n, visit_status="completed")
            decisions = {**random_decisions(random.Random(n)), "game1_DG": {"amount": given}}
            add_decisions(session, journey, visit, decisions)
    with transaction(session_factory) as session:
        compute_outcomes(session, journey.runtime, rng=random.Random(0))
    with session_factory() as session:
        bonuses = {b.amount_cents: b for b in session.scalars(select(Bonus))}
    # The one who gave nothing keeps $5 and receives $5: $10, the rule's maximum; the other ends with $0.
    assert sorted(bonuses) == [0, 1000]
    kept = bonuses[1000]
    assert kept.game_id == "game1_DG"
    assert kept.status == "computed"
    assert kept.idempotency_key == f"bonus:{kept.participant_id}:1"
    assert kept.computation["payoff_cents"] == 1000
    assert kept.computation["max_cents"] == 1000


def test_only_completed_not_withdrawn_visits_are_paired(session_factory: sessionmaker[Session],
                                                        journey: Journey) -> None:
    rng = random.Random(9)
    with transaction(session_factory) as session:
        for n, visit_status, status in ((1, "completed", "active"), (2, "completed", "active"),
                                        (3, "started", "active"), (4, "completed", "withdrawn")):
            _, visit = add_participant(session, journey, n, status=status, visit_status=visit_status)
            add_decisions(session, journey, visit, random_decisions(rng))
    with transaction(session_factory) as session:
        report = compute_outcomes(session, journey.runtime, rng=random.Random(0))
    assert report.outcomes["game1_DG"] == 2
    assert report.outcomes["game4_PG"] == 0
    assert report.waiting["game4_PG"] == 2
    with session_factory() as session:
        paired_visits = set(session.scalars(
            select(Visit.id).join(GameDecision, GameDecision.visit_id == Visit.id)
            .join(GameOutcome, GameOutcome.decision_id == GameDecision.id)))
        assert len(paired_visits) == 2


def test_decisions_waiting_for_partners_are_paired_when_more_complete(session_factory: sessionmaker[Session],
                                                                      journey: Journey) -> None:
    _completers(session_factory, journey, range(1, 4))
    with transaction(session_factory) as session:
        first = compute_outcomes(session, journey.runtime, rng=random.Random(0))
    assert first.outcomes["game1_DG"] == 2 and first.waiting["game1_DG"] == 1
    assert first.waiting["game4_PG"] == 3
    _completers(session_factory, journey, range(4, 6), seed=1)
    with transaction(session_factory) as session:
        second = compute_outcomes(session, journey.runtime, rng=random.Random(0))
    assert second.outcomes["game4_PG"] == 4 and second.waiting["game4_PG"] == 1
    assert second.outcomes["game1_DG"] == 2 and second.waiting["game1_DG"] == 1
    with session_factory() as session:
        assert session.scalar(select(func.count(Bonus.id))) == 4
