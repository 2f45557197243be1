"""The kinds of step a study's journey is made of, in one registry.

Each kind declares, in one place, what its pages ask (``fields``), what a submit of one of its pages
needs before answers are read (``check_submit``), how its answers are saved (``save``), what happens
when one of its pages is shown (``on_show``), which template shows it and what that template is
given beyond the common context (``context``). A study's steps are the built-in kinds by name
(``consent``, ``mic_check``, ``interview``, ``games``, ``experiments``, ``complete``); any other step
names an instrument. The journey (``survey.answering``) and the participant pages (``web``) dispatch
through ``step_kind`` instead of testing step names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocols.schema import ExperimentCondition
from storage.models import Interview, Participant, Visit
from storage.states import INTERVIEW_ENDED
from survey.errors import NotAvailable
from survey.fields import Field, ParsedAnswers, game_fields, item_field
from survey.plan import Page, Plan
from survey.runtime import StudyRuntime

if TYPE_CHECKING:
    from survey.answering import Answering, Shown

INTERVIEW_NOT_ENDED = ("The interview has not ended yet. Please start or continue it with the button above; "
                       "when the interviewer has said goodbye, come back to this page and continue.")

DEFAULT_HEADING = "Questions"
"""The heading of an instrument's pages when its file names none (``heading:``)."""


@dataclass(frozen=True)
class Answer:
    """One accepted submit, ready to be saved."""

    session: Session
    participant: Participant
    visit: Visit
    plan: Plan
    page: Page
    fields: list[Field]
    parsed: ParsedAnswers
    shown_at: datetime | None
    now: datetime
    duration_ms: int | None


class StepKind:
    """A kind of step; the defaults are those of a page that asks nothing and saves nothing."""

    template = "page.html"

    def fields(self, runtime: StudyRuntime, plan: Plan, page: Page) -> list[Field]:
        """The answer fields of one of this kind's pages, in the order shown."""
        return []

    def check_submit(self, journey: Answering, session: Session, visit: Visit) -> str | None:
        """A reason the page cannot be submitted yet (shown as the form's error), or None."""
        return None

    def save(self, journey: Answering, answer: Answer) -> None:
        """Store the answers of an accepted submit (the visit has already moved on)."""

    def on_show(self, journey: Answering, session: Session, participant: Participant, visit: Visit,
                page: Page) -> ExperimentCondition | None:
        """What showing the page decides (an experiment's condition), or None."""
        return None

    def heading(self, runtime: StudyRuntime, shown: Shown) -> tuple[str, str | None]:
        """(heading, part label) of one of this kind's pages."""
        return DEFAULT_HEADING, None

    def context(self, runtime: StudyRuntime, shown: Shown) -> dict[str, Any]:
        """What this kind's template is given beyond the common page context."""
        return {}


class ConsentStep(StepKind):
    """The consent document; its form is submitted by ``survey.consenting``, not as answers."""

    template = "consent.html"


class InfoStep(StepKind):
    """A page of text with a continue button (the microphone check)."""

    template = "info.html"


class InterviewStep(InfoStep):
    """The interview's page: it can be left only once the interview has ended."""

    def check_submit(self, journey: Answering, session: Session, visit: Visit) -> str | None:
        statuses = session.scalars(select(Interview.status).where(Interview.visit_id == visit.id)).all()
        return None if any(status in INTERVIEW_ENDED for status in statuses) else INTERVIEW_NOT_ENDED


class CompleteStep(StepKind):
    """The closing page: nothing to submit (a finished visit shows its status page instead)."""

    def check_submit(self, journey: Answering, session: Session, visit: Visit) -> str | None:
        raise NotAvailable("The study is finished: there is nothing more to submit.")


class InstrumentStep(StepKind):
    """A page of an instrument's items (a survey battery)."""

    def fields(self, runtime: StudyRuntime, plan: Plan, page: Page) -> list[Field]:
        instrument = runtime.instrument(page.step)
        out = []
        for item_id in page.items:
            item = instrument.item(item_id)
            scale = item.response.scale if hasattr(item.response, "scale") else None
            out.append(item_field(item, instrument.response_for(item),
                                  order=plan.presentation_order(page.step, item_id), scale=scale))
        return out

    def save(self, journey: Answering, answer: Answer) -> None:
        if answer.fields:
            journey.save_responses(answer, answer.page.step, journey.runtime.instrument_hash(answer.page.step))

    def heading(self, runtime: StudyRuntime, shown: Shown) -> tuple[str, str | None]:
        instrument = runtime.protocol.instruments.get(shown.step)
        heading = (instrument.data.heading if instrument else None) or DEFAULT_HEADING
        return heading, (f"Part {shown.part} of {shown.parts}" if shown.parts > 1 else None)


class GamesStep(StepKind):
    """One economic game's decision."""

    def fields(self, runtime: StudyRuntime, plan: Plan, page: Page) -> list[Field]:
        assert page.game is not None
        return game_fields(runtime.games[page.game])

    def save(self, journey: Answering, answer: Answer) -> None:
        journey.save_decision(answer)

    def heading(self, runtime: StudyRuntime, shown: Shown) -> tuple[str, str | None]:
        return f"Money game {shown.part} of {shown.parts}", None

    def context(self, runtime: StudyRuntime, shown: Shown) -> dict[str, Any]:
        assert shown.page.game is not None
        return {"instructions": runtime.games[shown.page.game].instructions}


class ExperimentsStep(StepKind):
    """One experiment's scenario, in the participant's condition, and its outcome questions."""

    def fields(self, runtime: StudyRuntime, plan: Plan, page: Page) -> list[Field]:
        assert page.experiment is not None
        experiment = runtime.experiments[page.experiment]
        return [item_field(o, o.response, order=n + 1) for n, o in enumerate(experiment.outcomes)]  # type: ignore[arg-type]

    def on_show(self, journey: Answering, session: Session, participant: Participant, visit: Visit,
                page: Page) -> ExperimentCondition | None:
        assert page.experiment is not None
        return journey.condition(session, participant, visit, journey.runtime.experiments[page.experiment])

    def save(self, journey: Answering, answer: Answer) -> None:
        assert answer.page.experiment is not None
        experiment = journey.runtime.experiments[answer.page.experiment]
        journey.condition(answer.session, answer.participant, answer.visit, experiment)
        journey.save_responses(answer, experiment.id, journey.runtime.experiments_hash)

    def heading(self, runtime: StudyRuntime, shown: Shown) -> tuple[str, str | None]:
        return f"Scenario {shown.part} of {shown.parts}", None

    def context(self, runtime: StudyRuntime, shown: Shown) -> dict[str, Any]:
        return {"stimulus": shown.condition.stimulus if shown.condition else None}


STEP_KINDS: dict[str, StepKind] = {
    "consent": ConsentStep(),
    "mic_check": InfoStep(),
    "interview": InterviewStep(),
    "games": GamesStep(),
    "experiments": ExperimentsStep(),
    "complete": CompleteStep(),
}
"""The built-in kinds by step name."""
INSTRUMENT = InstrumentStep()
"""The kind of every step that names an instrument."""


def step_kind(step: str) -> StepKind:
    """The kind of a study step: a built-in one, else an instrument's."""
    return STEP_KINDS.get(step, INSTRUMENT)

