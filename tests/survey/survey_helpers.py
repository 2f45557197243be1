"""Helpers for the survey tests: participants, visits and game decisions written directly."""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy.orm import Session

from storage.models import GameDecision, Participant, Visit
from survey.journey import Journey
from survey.plan import build_plan


def add_participant(session: Session, journey: Journey, n: int, *, status: str = "active",
                    visit_status: str = "started", strata: dict[str, str] | None = None) -> tuple[Participant, Visit]:
    """A participant with a wave-1 visit, written directly (no web, no quota)."""
    participant = Participant(study_id=journey.study_id, prolific_pid=f"{n:024x}", pseudonym_id=str(uuid.uuid4()),
                              status=status, strata=strata or {})
    visit = Visit(participant=participant, wave=1, status=visit_status, position=0,
                  plan=build_plan(journey.runtime, 1, n))
    session.add_all([participant, visit])
    session.flush()
    return participant, visit


def add_decisions(session: Session, journey: Journey, visit: Visit, decisions: dict[str, dict[str, Any]]) -> None:
    """Stored game decisions for a visit ({game_id: decision})."""
    for order, (game_id, decision) in enumerate(decisions.items(), start=1):
        game = journey.runtime.games[game_id]
        session.add(GameDecision(visit_id=visit.id, game_id=game_id, role=game.decision_role, decision=decision,
                                 presentation_order=order, protocol_hash=journey.runtime.games_hash))
    session.flush()


def random_decisions(rng: random.Random) -> dict[str, dict[str, Any]]:
    """A plausible decision in each of the five shipped games."""
    return {
        "game1_DG": {"amount": rng.randint(0, 5)},
        "game2_TF1": {"amount": rng.randint(0, 3)},
        "game3_TF2": {"amounts": {"received_3": rng.randint(0, 3), "received_6": rng.randint(0, 6),
                                  "received_9": rng.randint(0, 9)}},
        "game4_PG": {"amount": rng.randint(0, 4)},
        "game5_PD": {"choice": rng.choice([1, 2])},
    }
