"""The participant's journey as plain functions over a database session: enter, show a page, submit it.

The web layer (``web/routes/``) calls these and renders what they return; they never commit (the
caller does) and never see HTTP.

Every page submit is counted once. A visit's ``position`` is the index of its current page; a
submit names the position it was shown at, and is accepted only through
``UPDATE visits SET position = p + 1 WHERE id = :visit AND position = p``. Whichever of two tabs,
two clicks or a replayed post gets there first is saved; the others find the position moved on and
are answered "already saved" without writing anything. Answers are inserted with ON CONFLICT DO
NOTHING on (visit, instrument, item) as a second guard.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from protocols import Experiment
from protocols.schema import DECLINED, MISSING_CODES, ExperimentCondition
from storage import audit
from storage.models import Consent, GameDecision, Interview, PageView, Participant, Response, Visit, utcnow
from survey import consent as consent_doc
from survey import quotas, retest
from survey.assignment import assign_condition
from survey.errors import NotAvailable, ResumeCodeNeeded, SessionNotProven, TamperedForm
from survey.fields import Field, FormData, ParsedAnswers, game_fields, item_field, parse_answers
from survey.plan import build_plan
from survey.prolific import ProlificIds
from survey.runtime import StudyRuntime
from survey.signals import page_signals
from survey.sql import insert_ignoring_conflicts

# Form keys that are not answers.
TOKEN_FIELD = "token"
SKIP_FIELD = "skip_ok"
RESERVED = (TOKEN_FIELD, SKIP_FIELD)
INTERVIEW_ENDED = ("completed", "stopped")
"""A visit goes past its interview step only once the interview has ended one of these ways."""
INTERVIEW_NOT_ENDED = ("The interview has not ended yet. Please start or continue it with the button above; "
                       "when the interviewer has said goodbye, come back to this page and continue.")


@dataclass
class Entry:
    """What entering with a study link led to."""

    kind: Literal["screener", "started", "resumed", "screened_out"]
    participant: Participant | None = None
    visit: Visit | None = None
    missing: list[str] = field(default_factory=list)


@dataclass
class Shown:
    """The current page, ready to render."""

    position: int
    total: int
    page: dict[str, Any]
    fields: list[Field]
    condition: ExperimentCondition | None = None
    part: int = 1
    parts: int = 1

    @property
    def step(self) -> str:
        """The study step the page belongs to."""
        return str(self.page["step"])


@dataclass
class Submitted:
    """What a submit led to: ``saved`` (moved on), ``stale`` (already saved elsewhere), ``invalid``
    (shown again with errors), ``declined`` (consent declined) or ``completed`` (the last page was saved)."""

    outcome: Literal["saved", "stale", "invalid", "declined", "completed"]
    parsed: ParsedAnswers | None = None
    form_error: str | None = None
    chosen_scopes: list[str] = field(default_factory=list)


SessionCheck = Callable[[ProlificIds], bool]
"""Prolific's word on a session: whether submission ``ids.session_id`` is the participant's, in ``ids.study_id``."""


@dataclass(frozen=True)
class Journey:
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

    # ------------------------------------------------------------------ entry

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
            if visit is not None and participant.status == "active":
                self._prove(session, participant, visit, ids, holder, code_proven)
            audit.record(session, self._actor(participant), "participant.resume", f"participant:{participant.id}",
                         {"status": participant.status})
            kind: Literal["resumed", "screened_out"] = (
                "screened_out" if participant.status == "screened_out" else "resumed")
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
                                      pseudonym_id=str(uuid.uuid4()), status="screened_out", strata={})
            session.add(participant)
            session.flush()
            audit.record(session, self._actor(participant), "participant.screened_out",
                         f"participant:{participant.id}", {"reason": "quota_full"})
            return Entry("screened_out", participant)
        seed = (rng or random.SystemRandom()).getrandbits(32)
        plan = build_plan(self.runtime, 1, seed)
        participant = Participant(study_id=self.study_id, prolific_pid=ids.participant_id,
                                  pseudonym_id=str(uuid.uuid4()), status="active", strata=strata)
        visit = Visit(participant=participant, wave=1, prolific_study_id=ids.study_id,
                      prolific_session_id=ids.session_id, status="started", position=0,
                      current_step=plan["pages"][0]["step"], plan=plan)
        session.add_all([participant, visit])
        session.flush()
        audit.record(session, self._actor(participant), "participant.enter", f"participant:{participant.id}",
                     {"visit": visit.id, "pages": len(plan["pages"])})
        return Entry("started", participant, visit)

    def _return_lapsed(self, session: Session, participant: Participant, ids: ProlificIds,
                       holder: int | None, code_proven: bool) -> Entry:
        """A participant whose place lapsed comes back: they take a place again if one is free."""
        visit = self.visit_of(session, participant)
        assert visit is not None
        self._prove(session, participant, visit, ids, holder, code_proven)
        if participant.strata and not quotas.reserve(session, self.study_id, participant.strata):
            participant.status = "screened_out"
            participant.strata = {}
            session.flush()
            audit.record(session, self._actor(participant), "participant.screened_out",
                         f"participant:{participant.id}", {"reason": "quota_full"})
            return Entry("screened_out", participant)
        participant.status = "active"
        visit.status = "started"
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
        if visit.status == "started":
            audit.record(session, self._actor(participant), "visit.prolific_session_changed", f"visit:{visit.id}",
                         {"rule": rule})
            visit.prolific_session_id = ids.session_id

    # ------------------------------------------------------------------ showing a page

    def page(self, visit: Visit, position: int | None = None) -> dict[str, Any]:
        """The plan's page at ``position`` (default: the current one)."""
        pages = visit.plan["pages"]
        return dict(pages[visit.position if position is None else position])

    def total_pages(self, visit: Visit) -> int:
        """How many pages the participant answers (the closing page not counted)."""
        return len(visit.plan["pages"]) - 1

    def fields(self, visit: Visit, page: dict[str, Any]) -> list[Field]:
        """The answer fields of a page, in the order shown."""
        step = page["step"]
        if step == "games":
            return game_fields(self.runtime.games[page["game"]])
        if step == "experiments":
            experiment = self.runtime.experiments[page["experiment"]]
            return [item_field(o, o.response, order=n + 1) for n, o in enumerate(experiment.outcomes)]  # type: ignore[arg-type]
        if "items" in page:
            instrument = self.runtime.instrument(step)
            order = visit.plan["item_orders"][step]
            out = []
            for item_id in page["items"]:
                item = instrument.item(item_id)
                scale = item.response.scale if hasattr(item.response, "scale") else None
                out.append(item_field(item, instrument.response_for(item), order=order.index(item_id) + 1,
                                      scale=scale))
            return out
        return []

    def show(self, session: Session, participant: Participant, visit: Visit) -> Shown:
        """The current page; records that it was shown and, for an experiment, assigns the condition."""
        self._require_active(participant, visit)
        page = self.page(visit)
        fields = self.fields(visit, page)
        self._record_view(session, visit, visit.position, page["key"], len(fields))
        condition = None
        if page["step"] == "experiments":
            condition = self.condition(session, participant, visit, self.runtime.experiments[page["experiment"]])
        return self.shown(visit, visit.position, fields, condition)

    def shown(self, visit: Visit, position: int, fields: list[Field],
              condition: ExperimentCondition | None = None) -> Shown:
        """The page at ``position`` with its place among its step's pages (game 2 of 5, part 3 of 19)."""
        pages = visit.plan["pages"]
        page = dict(pages[position])
        same = [n for n, p in enumerate(pages) if p["step"] == page["step"]]
        return Shown(position, self.total_pages(visit), page, fields, condition,
                     part=same.index(position) + 1, parts=len(same))

    def condition(self, session: Session, participant: Participant, visit: Visit,
                  experiment: Experiment) -> ExperimentCondition:
        """The participant's condition in an experiment, assigned on first sight."""
        wave = self.runtime.wave(visit.wave)
        keep = visit.wave - 1 if wave.keep_experiment_conditions and visit.wave > 1 else None
        assignment = assign_condition(session, self.study_id, participant.id, experiment, visit.wave,
                                      keep_from_wave=keep)
        return next(c for c in experiment.conditions if c.id == assignment.condition_id)

    def _record_view(self, session: Session, visit: Visit, position: int, key: str, item_count: int) -> None:
        now = utcnow()
        inserted = insert_ignoring_conflicts(session, PageView, [{
            "visit_id": visit.id, "position": position, "page_key": key, "first_shown_at": now,
            "last_shown_at": now, "views": 1, "item_count": item_count, "signals": {},
        }], ["visit_id", "position"])
        if not inserted:
            session.execute(
                update(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
                .values(views=PageView.views + 1, last_shown_at=now)
                .execution_options(synchronize_session=False)
            )

    # ------------------------------------------------------------------ submitting a page

    def submit(self, session: Session, participant: Participant, visit: Visit, position: int,
               form: FormData) -> Submitted:
        """Check and save the page shown at ``position``; see the module docstring for the guarantees."""
        self._require_active(participant, visit)
        if position != visit.position:
            return Submitted("stale")
        page = self.page(visit, position)
        step = page["step"]
        if step == "complete":
            raise NotAvailable("The study is finished: there is nothing more to submit.")
        if step == "consent":
            return self._submit_consent(session, participant, visit, position, form)
        if step == "interview" and not self._interview_ended(session, visit):
            return Submitted("invalid", form_error=INTERVIEW_NOT_ENDED)
        fields = self.fields(visit, page)
        parsed = parse_answers(fields, form, reserved=RESERVED, skips_confirmed=form.get(SKIP_FIELD, [""])[0] == "1")
        if parsed.errors:
            return Submitted("invalid", parsed)
        now = utcnow()
        view = session.scalars(
            select(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
        ).first()
        shown_at = view.first_shown_at if view is not None else None
        duration_ms = _ms(shown_at, now)
        if not self._advance(session, visit, position):
            return Submitted("stale")
        if step == "games":
            self._save_decision(session, visit, page, parsed, now)
        elif step == "experiments":
            experiment = self.runtime.experiments[page["experiment"]]
            self.condition(session, participant, visit, experiment)
            self._save_responses(session, visit, experiment.id, self.runtime.experiments_hash, fields, parsed,
                                 shown_at, now, duration_ms)
        elif fields:
            self._save_responses(session, visit, step, self.runtime.instrument_hash(step), fields, parsed,
                                 shown_at, now, duration_ms)
        self._finish_view(session, visit, position, page["key"], fields, parsed, now, duration_ms)
        if self.page(visit)["step"] == "complete":
            self._complete(session, participant, visit, now)
            return Submitted("completed", parsed)
        return Submitted("saved", parsed)

    @staticmethod
    def _interview_ended(session: Session, visit: Visit) -> bool:
        """Whether the visit's interview has ended: completed, or stopped at the participant's request."""
        statuses = session.scalars(select(Interview.status).where(Interview.visit_id == visit.id)).all()
        return any(status in INTERVIEW_ENDED for status in statuses)

    def _submit_consent(self, session: Session, participant: Participant, visit: Visit, position: int,
                        form: FormData) -> Submitted:
        document = self.runtime.consent
        scopes = consent_doc.scopes(document)
        allowed = {f"scope.{s.id}" for s in scopes} | {"decision", TOKEN_FIELD}
        for key, values in form.items():
            if key not in allowed:
                raise TamperedForm("The consent form holds a field it does not have. Nothing was saved.")
            if len(values) > 1:
                raise TamperedForm("The consent form sent a field more than once. Nothing was saved.")
            if key.startswith("scope.") and values[0] != "yes":
                raise TamperedForm("The consent form sent a value a checkbox cannot have. Nothing was saved.")
        decision = form.get("decision", [""])[0]
        chosen = [s.id for s in scopes if f"scope.{s.id}" in form]
        if decision == "decline":
            if not self._advance(session, visit, position, status="declined"):
                return Submitted("stale")
            self._decline(session, participant, visit)
            return Submitted("declined")
        if decision != "agree":
            raise TamperedForm("The consent form must be sent with one of its two buttons. Nothing was saved.")
        missing = [s for s in scopes if s.required and s.id not in chosen]
        if missing:
            names = "; ".join(f"“{s.title}”" for s in missing)
            return Submitted("invalid", form_error=f"To take part, please tick the required boxes: {names}.",
                             chosen_scopes=chosen)
        if not self._advance(session, visit, position):
            return Submitted("stale")
        text = self.consent_text()
        signed = Consent(participant_id=participant.id, document_version=document.version, text=text,
                         text_hash=consent_doc.text_hash(text), scopes=chosen, signed_at=utcnow())
        session.add(signed)
        session.flush()
        audit.record(session, self._actor(participant), "consent.sign", f"consent:{signed.id}",
                     {"version": document.version, "text_hash": signed.text_hash, "scopes": chosen})
        self._finish_view(session, visit, position, "consent", [], None, signed.signed_at, None)
        return Submitted("saved", chosen_scopes=chosen)

    def consent_text(self) -> str:
        """The consent document exactly as shown (placeholders filled): the text a signed copy keeps."""
        return consent_doc.fill(self.runtime.consent, {"contact_email": self.contact_email})

    def _advance(self, session: Session, visit: Visit, position: int, *, status: str | None = None) -> bool:
        """Move the visit past ``position`` if it is still there; False when another submit got there first."""
        pages = visit.plan["pages"]
        following = pages[min(position + 1, len(pages) - 1)]["step"]
        values: dict[str, Any] = {"position": position + 1, "current_step": following}
        if status is not None:
            values = {"status": status}
        result = session.execute(
            update(Visit).where(Visit.id == visit.id, Visit.position == position, Visit.status == "started")
            .values(**values).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        for key, value in values.items():
            set_committed_value(visit, key, value)
        return True

    def _save_responses(self, session: Session, visit: Visit, instrument: str, protocol_hash: str,
                        fields: list[Field], parsed: ParsedAnswers, shown_at: datetime | None, now: datetime,
                        duration_ms: int | None) -> None:
        rows = []
        for f in fields:
            value = parsed.values[f.name]
            # A blank is a declined answer (GSS NA); the inapplicable option is a skip by design (IAP).
            missing = DECLINED if value is None else MISSING_CODES.get(value) if isinstance(value, int) else None
            rows.append({
                "visit_id": visit.id, "wave": visit.wave, "instrument": instrument, "item_id": f.name,
                "value_number": float(value) if isinstance(value, int | float) else None,
                "value_text": value if isinstance(value, str) else None, "missing": missing,
                "presentation_order": f.order, "shown_at": shown_at, "answered_at": now,
                "response_ms": duration_ms, "protocol_hash": protocol_hash,
            })
        insert_ignoring_conflicts(session, Response, rows, ["visit_id", "instrument", "item_id"])

    def _save_decision(self, session: Session, visit: Visit, page: dict[str, Any], parsed: ParsedAnswers,
                       now: datetime) -> None:
        game = self.runtime.games[page["game"]]
        values = parsed.values
        if "amount" in values:
            decision: dict[str, Any] = {"amount": values["amount"]}
        elif "choice" in values:
            decision = {"choice": values["choice"]}
        else:
            decision = {"amounts": dict(values)}
        order = visit.plan["games_order"].index(game.id) + 1
        insert_ignoring_conflicts(session, GameDecision, [{
            "visit_id": visit.id, "game_id": game.id, "role": game.decision_role, "decision": decision,
            "presentation_order": order, "decided_at": now, "protocol_hash": self.runtime.games_hash,
        }], ["visit_id", "game_id"])

    def _finish_view(self, session: Session, visit: Visit, position: int, key: str, fields: list[Field],
                     parsed: ParsedAnswers | None, now: datetime, duration_ms: int | None) -> None:
        signals = page_signals(fields, parsed.values, duration_ms) if parsed is not None and fields else {}
        view = session.scalars(
            select(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
        ).first()
        if view is None:
            view = PageView(visit_id=visit.id, position=position, page_key=key, first_shown_at=now,
                            last_shown_at=now, views=0, item_count=len(fields))
            session.add(view)
        view.submitted_at = now
        view.duration_ms = duration_ms if duration_ms is not None else _ms(view.first_shown_at, now)
        view.signals = signals
        session.flush()

    def _complete(self, session: Session, participant: Participant, visit: Visit, now: datetime) -> None:
        visit.status = "completed"
        visit.completed_at = now
        session.flush()
        audit.record(session, self._actor(participant), "visit.complete", f"visit:{visit.id}", {"wave": visit.wave})

    def _decline(self, session: Session, participant: Participant, visit: Visit) -> None:
        if participant.strata:
            quotas.release(session, self.study_id, participant.strata)
        participant.status = "declined"
        participant.strata = {}
        session.flush()
        audit.record(session, self._actor(participant), "consent.decline", f"participant:{participant.id}",
                     {"version": self.runtime.consent.version})

    @staticmethod
    def _require_active(participant: Participant, visit: Visit) -> None:
        if participant.status != "active" or visit.status != "started":
            raise NotAvailable("This study is no longer open to you: it has finished or you have left it.")

    @staticmethod
    def _actor(participant: Participant) -> str:
        return f"participant:{participant.pseudonym_id}"


def _ms(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, round((end - start).total_seconds() * 1000))
