"""The outcome job: pair stored decisions, write each decision's payoff once, then the bonuses.

``compute_outcomes(session, study)`` looks at every game decision of a completed, not-withdrawn
visit that has no outcome yet, groups them at random as each game requires (see
``survey.games.payoffs``), and writes one ``GameOutcome`` per decision (unique per decision), then
one ``Bonus`` per participant and wave once the bonus game's outcome exists (unique per participant
and wave). Decisions left over (too few for a full group) wait for the next run. Running it again
computes only what is missing; two runs at the same moment cannot both pair a decision: the second
fails on the unique constraint and its transaction changes nothing. The caller commits.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocols import Study as ProtocolStudy
from protocols.schema import (
    DictatorGame,
    PrisonersDilemmaGame,
    PublicGoodsGame,
    TrustReceiverGame,
    TrustSenderGame,
)
from storage import audit
from storage.models import Bonus, GameDecision, GameOutcome, Participant, Study, Visit
from storage.states import BonusStatus, ParticipantStatus, VisitStatus
from survey.games import payoffs
from survey.runtime import StudyRuntime


@dataclass
class OutcomeReport:
    """What one run wrote: outcomes per game, bonuses, and decisions still waiting for partners."""

    outcomes: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    bonuses: int = 0


@dataclass(frozen=True)
class _Decision:
    row: GameDecision
    participant_id: int
    wave: int


def compute_outcomes(session: Session, study: StudyRuntime | ProtocolStudy, *,
                     rng: random.Random | None = None) -> OutcomeReport:
    """Pair what can be paired, write outcomes and bonuses, and report (see the module docstring)."""
    runtime = study if isinstance(study, StudyRuntime) else StudyRuntime(study)
    rng = rng or random.SystemRandom()
    report = OutcomeReport()
    study_row = session.scalars(select(Study).where(Study.slug == runtime.slug)).first()
    if study_row is None or not runtime.games:
        return report
    pending = _pending(session, study_row.id)
    by_game_wave: dict[tuple[str, int], list[_Decision]] = defaultdict(list)
    for decision in pending:
        by_game_wave[(decision.row.game_id, decision.wave)].append(decision)
    waves = sorted({wave for _, wave in by_game_wave})
    handled: set[str] = set()
    for game in runtime.games.values():
        if game.id in handled:
            continue
        if isinstance(game, TrustSenderGame | TrustReceiverGame):
            sender, receiver = _trust_pair(runtime, game)
            handled |= {sender.id, receiver.id}
            for wave in waves:
                _trust(session, sender, receiver, by_game_wave[(sender.id, wave)],
                       by_game_wave[(receiver.id, wave)], rng, report)
            continue
        handled.add(game.id)
        for wave in waves:
            decisions = by_game_wave[(game.id, wave)]
            made, left = payoffs.groups(decisions, game.group_size, rng)
            for group in made:
                _write_group(session, game, group)
            report.outcomes[game.id] = report.outcomes.get(game.id, 0) + sum(len(g) for g in made)
            report.waiting[game.id] = report.waiting.get(game.id, 0) + len(left)
    session.flush()
    report.bonuses = _bonuses(session, runtime, study_row.id)
    if any(report.outcomes.values()) or report.bonuses:
        audit.record(session, "system:compute_outcomes", "games.outcomes", f"study:{study_row.id}",
                     {"outcomes": report.outcomes, "bonuses": report.bonuses, "waiting": report.waiting})
    return report


def _pending(session: Session, study_id: int) -> list[_Decision]:
    rows = session.execute(
        select(GameDecision, Participant.id, Visit.wave)
        .join(Visit, GameDecision.visit_id == Visit.id)
        .join(Participant, Visit.participant_id == Participant.id)
        .outerjoin(GameOutcome, GameOutcome.decision_id == GameDecision.id)
        .where(Participant.study_id == study_id, Participant.status != ParticipantStatus.WITHDRAWN,
               Visit.status == VisitStatus.COMPLETED, GameOutcome.id.is_(None))
        .order_by(GameDecision.id)
    )
    return [_Decision(decision, participant_id, wave) for decision, participant_id, wave in rows]


def _trust_pair(runtime: StudyRuntime, game: TrustSenderGame | TrustReceiverGame
                ) -> tuple[TrustSenderGame, TrustReceiverGame]:
    if isinstance(game, TrustReceiverGame):
        sender = runtime.games[game.parameters.sender_game]
        assert isinstance(sender, TrustSenderGame)
        return sender, game
    receiver = next(g for g in runtime.games.values()
                    if isinstance(g, TrustReceiverGame) and g.parameters.sender_game == game.id)
    return game, receiver


def _outcome(session: Session, decision: _Decision, partners: list[_Decision], payoff_cents: int) -> None:
    session.add(GameOutcome(decision_id=decision.row.id, partner_decision_ids=[p.row.id for p in partners],
                            payoff_cents=payoff_cents))


def _write_group(session: Session, game: object, group: list[_Decision]) -> None:
    if isinstance(game, DictatorGame):
        a, b = group
        given_a = payoffs.decision_value(game, a.row.decision)
        given_b = payoffs.decision_value(game, b.row.decision)
        _outcome(session, a, [b], payoffs.dictator(game, given_a, given_b))
        _outcome(session, b, [a], payoffs.dictator(game, given_b, given_a))
    elif isinstance(game, PublicGoodsGame):
        amounts = [payoffs.decision_value(game, d.row.decision) for d in group]
        for member, earned in zip(group, payoffs.public_goods(game, amounts), strict=True):
            _outcome(session, member, [d for d in group if d is not member], earned)
    elif isinstance(game, PrisonersDilemmaGame):
        a, b = group
        choice_a = payoffs.decision_value(game, a.row.decision)
        choice_b = payoffs.decision_value(game, b.row.decision)
        _outcome(session, a, [b], payoffs.prisoners_dilemma(game, choice_a, choice_b))
        _outcome(session, b, [a], payoffs.prisoners_dilemma(game, choice_b, choice_a))
    else:
        raise TypeError(f"no grouping rule for {game!r}")


def _trust(session: Session, sender: TrustSenderGame, receiver: TrustReceiverGame, sends: list[_Decision],
           receives: list[_Decision], rng: random.Random, report: OutcomeReport) -> None:
    """Pair participants who made both trust decisions; each plays sender against the other's strategy."""
    receive_of = {d.participant_id: d for d in receives}
    both = [d for d in sends if d.participant_id in receive_of]
    pairs, left = payoffs.groups(both, 2, rng)
    for a_send, b_send in pairs:
        a_receive, b_receive = receive_of[a_send.participant_id], receive_of[b_send.participant_id]
        for send, other_receive in ((a_send, b_receive), (b_send, a_receive)):
            sent = payoffs.decision_value(sender, send.row.decision)
            strategy = payoffs.decision_value(receiver, other_receive.row.decision)
            earned_sender, earned_receiver = payoffs.trust(sender, receiver, sent, strategy)
            _outcome(session, send, [other_receive], earned_sender)
            _outcome(session, other_receive, [send], earned_receiver)
    count = 4 * len(pairs)
    report.outcomes[sender.id] = report.outcomes.get(sender.id, 0) + count // 2
    report.outcomes[receiver.id] = report.outcomes.get(receiver.id, 0) + count // 2
    report.waiting[sender.id] = report.waiting.get(sender.id, 0) + len(sends) - 2 * len(pairs)
    report.waiting[receiver.id] = report.waiting.get(receiver.id, 0) + len(receives) - 2 * len(pairs)


def _bonuses(session: Session, runtime: StudyRuntime, study_id: int) -> int:
    """One Bonus per participant and wave from the preselected game's outcome, clamped to the rule's range."""
    rule = runtime.protocol.spec.payments.bonus
    if rule is None:
        return 0
    low, high = payoffs.cents(Decimal(str(rule.min))), payoffs.cents(Decimal(str(rule.max)))
    rows = session.execute(
        select(GameOutcome, GameDecision, Visit)
        .join(GameDecision, GameOutcome.decision_id == GameDecision.id)
        .join(Visit, GameDecision.visit_id == Visit.id)
        .join(Participant, Visit.participant_id == Participant.id)
        .outerjoin(Bonus, (Bonus.participant_id == Visit.participant_id) & (Bonus.wave == Visit.wave))
        .where(Participant.study_id == study_id, Participant.status != ParticipantStatus.WITHDRAWN,
               GameDecision.game_id == rule.game, Bonus.id.is_(None))
        .order_by(GameOutcome.id)
    )
    written = 0
    for outcome, decision, visit in rows:
        if not rule.per_wave and visit.wave != 1:
            continue
        amount = min(max(outcome.payoff_cents, low), high)
        session.add(Bonus(
            participant_id=visit.participant_id, wave=visit.wave, amount_cents=amount, game_id=rule.game,
            computation={"rule": rule.rule, "game": rule.game, "decision_id": decision.id,
                         "outcome_id": outcome.id, "payoff_cents": outcome.payoff_cents,
                         "partner_decision_ids": outcome.partner_decision_ids, "min_cents": low, "max_cents": high},
            status=BonusStatus.COMPUTED, idempotency_key=f"bonus:{visit.participant_id}:{visit.wave}",
        ))
        written += 1
    session.flush()
    return written
