"""Showing the current page and saving a submitted one, for every kind of step (``survey.steps``).

Every page submit is counted once. A visit's ``position`` is the index of its current page; a
submit names the position it was shown at, and is accepted only through
``UPDATE visits SET position = p + 1 WHERE id = :visit AND position = p``. Whichever of two tabs,
two clicks or a replayed post gets there first is saved; the others find the position moved on and
are answered "already saved" without writing anything. Answers are inserted with ON CONFLICT DO
NOTHING on (visit, instrument, item) as a second guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from protocols import Experiment
from protocols.schema import DECLINED, MISSING_CODES, ExperimentCondition
from storage import audit
from storage.decisions import DecisionValue
from storage.models import GameDecision, Participant, Response, Visit, utcnow
from storage.states import VisitStatus
from survey.assignment import assign_condition
from survey.consenting import TOKEN_FIELD, Consenting, Submitted
from survey.fields import Field, FormData, parse_answers
from survey.page_views import elapsed_ms
from survey.plan import Page
from survey.sql import insert_ignoring_conflicts
from survey.steps import Answer, ConsentStep, step_kind

SKIP_FIELD = "skip_ok"
"""The form key that confirms blank answers were meant; not an answer."""
RESERVED = (TOKEN_FIELD, SKIP_FIELD)
"""Form keys that are not answers."""


@dataclass
class Shown:
    """The current page, ready to render."""

    position: int
    total: int
    page: Page
    fields: list[Field]
    condition: ExperimentCondition | None = None
    part: int = 1
    parts: int = 1

    @property
    def step(self) -> str:
        """The study step the page belongs to."""
        return self.page.step


class Answering(Consenting):
    """Shows pages and saves their answers."""

    def fields(self, visit: Visit, page: Page) -> list[Field]:
        """The answer fields of a page, in the order shown."""
        return step_kind(page.step).fields(self.runtime, self.plan_of(visit), page)

    def show(self, session: Session, participant: Participant, visit: Visit) -> Shown:
        """The current page; records that it was shown and, for an experiment, assigns the condition."""
        self._require_active(participant, visit)
        page = self.page(visit)
        fields = self.fields(visit, page)
        self._record_view(session, visit, visit.position, page.key, len(fields))
        condition = step_kind(page.step).on_show(self, session, participant, visit, page)
        return self.shown(visit, visit.position, fields, condition)

    def reshow(self, session: Session, participant: Participant, visit: Visit, position: int) -> Shown:
        """The page at ``position`` again (a submit that was not accepted), with what showing it decided."""
        page = self.page(visit, position)
        condition = step_kind(page.step).on_show(self, session, participant, visit, page)
        return self.shown(visit, position, self.fields(visit, page), condition)

    def shown(self, visit: Visit, position: int, fields: list[Field],
              condition: ExperimentCondition | None = None) -> Shown:
        """The page at ``position`` with its place among its step's pages (game 2 of 5, part 3 of 19)."""
        plan = self.plan_of(visit)
        part, parts = plan.part_of_step(position)
        return Shown(position, plan.answered_pages, plan.pages[position], fields, condition, part=part, parts=parts)

    def condition(self, session: Session, participant: Participant, visit: Visit,
                  experiment: Experiment) -> ExperimentCondition:
        """The participant's condition in an experiment, assigned on first sight."""
        wave = self.runtime.wave(visit.wave)
        keep = visit.wave - 1 if wave.keep_experiment_conditions and visit.wave > 1 else None
        assignment = assign_condition(session, self.study_id, participant.id, experiment, visit.wave,
                                      keep_from_wave=keep)
        return next(c for c in experiment.conditions if c.id == assignment.condition_id)

    def submit(self, session: Session, participant: Participant, visit: Visit, position: int,
               form: FormData) -> Submitted:
        """Check and save the page shown at ``position``; see the module docstring for the guarantees."""
        self._require_active(participant, visit)
        if position != visit.position:
            return Submitted("stale")
        page = self.page(visit, position)
        kind = step_kind(page.step)
        if isinstance(kind, ConsentStep):
            return self._submit_consent(session, participant, visit, position, form)
        not_yet = kind.check_submit(self, session, visit)
        if not_yet is not None:
            return Submitted("invalid", form_error=not_yet)
        fields = kind.fields(self.runtime, self.plan_of(visit), page)
        parsed = parse_answers(fields, form, reserved=RESERVED, skips_confirmed=form.get(SKIP_FIELD, [""])[0] == "1")
        if parsed.errors:
            return Submitted("invalid", parsed)
        now = utcnow()
        shown_at = self._first_shown(session, visit, position)
        duration_ms = elapsed_ms(shown_at, now)
        if not self._advance(session, visit, position):
            return Submitted("stale")
        kind.save(self, Answer(session, participant, visit, self.plan_of(visit), page, fields, parsed, shown_at,
                               now, duration_ms))
        self._finish_view(session, visit, position, page.key, fields, parsed, now, duration_ms)
        if self.page(visit).step == "complete":
            self._complete(session, participant, visit, now)
            return Submitted("completed", parsed)
        return Submitted("saved", parsed)

    def save_responses(self, answer: Answer, instrument: str, protocol_hash: str) -> None:
        """Store a page's answers as ``responses`` rows under ``instrument`` (an instrument or experiment id)."""
        rows = []
        for f in answer.fields:
            value = answer.parsed.values[f.name]
            # A blank is a declined answer (GSS NA); the inapplicable option is a skip by design (IAP).
            missing = DECLINED if value is None else MISSING_CODES.get(value) if isinstance(value, int) else None
            rows.append({
                "visit_id": answer.visit.id, "wave": answer.visit.wave, "instrument": instrument, "item_id": f.name,
                "value_number": float(value) if isinstance(value, int | float) else None,
                "value_text": value if isinstance(value, str) else None, "missing": missing,
                "presentation_order": f.order, "shown_at": answer.shown_at, "answered_at": answer.now,
                "response_ms": answer.duration_ms, "protocol_hash": protocol_hash,
            })
        insert_ignoring_conflicts(answer.session, Response, rows, ["visit_id", "instrument", "item_id"])

    def save_decision(self, answer: Answer) -> None:
        """Store a game page's decision (``storage.decisions``)."""
        assert answer.page.game is not None
        game = self.runtime.games[answer.page.game]
        decision = DecisionValue.from_answers(answer.parsed.values).as_json()
        insert_ignoring_conflicts(answer.session, GameDecision, [{
            "visit_id": answer.visit.id, "game_id": game.id, "role": game.decision_role, "decision": decision,
            "presentation_order": answer.plan.game_order(game.id), "decided_at": answer.now,
            "protocol_hash": self.runtime.games_hash,
        }], ["visit_id", "game_id"])

    def _complete(self, session: Session, participant: Participant, visit: Visit, now: datetime) -> None:
        visit.status = VisitStatus.COMPLETED
        visit.completed_at = now
        session.flush()
        audit.record(session, self._actor(participant), "visit.complete", f"visit:{visit.id}", {"wave": visit.wave})

