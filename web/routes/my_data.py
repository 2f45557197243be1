"""The participant's own data page: ``GET /study/{slug}/my-data`` shows what voxbank holds about them
and which exports included them; ``GET .../my-data/download`` is their own copy (JSON);
``POST .../my-data/stop-sharing`` takes them out of future exports without leaving the study.

Every route depends on the participant capability (``ParticipantVisit``): a participant reaches only
their own data, and the staff route matrix reads that as the routes' access rule.
"""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from agentbank.catalogue import build_catalogue
from agentbank.export import exports_including
from storage import audit
from survey import consent as consent_doc
from survey.errors import TamperedForm
from survey.journey import Journey
from survey.own_data import download, holdings
from survey.sharing import stop_sharing
from web.deps import FormDep, JourneyDep, ParticipantVisit, SessionDep, SignerDep
from web.pages import DEFAULT_HEADING, base_path, render

router = APIRouter(prefix="/study/{slug}")
PURPOSE = "stop-sharing"
TIERS = {
    "open": "Open tier: summary figures over many people, never your own answers or words",
    "restricted": "Restricted tier: individual answers and a de-identified interview, for approved researchers",
}
SCHEDULED = {
    "invitation": "an invitation to the second part",
    "reminder": "a reminder about the second part",
    "window_close": "the closing of the second part's window",
    "approval": "approving your submission on Prolific",
    "bonus_payment": "paying your bonus",
}
SCENARIOS = "the short scenarios"
STATUSES = {
    "completed": "finished", "started": "under way", "in_progress": "under way", "pending": "not started",
    "stopped": "stopped early", "abandoned": "left unfinished", "withdrawn": "withdrawn", "declined": "declined",
    "sent": "done", "failed": "could not be done", "cancelled": "cancelled", "claimed": "under way",
}


def _day(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y") if value is not None else ""


def _answers_by_part(journey: Journey, counts: dict[str, int]) -> list[tuple[str, int]]:
    """Answer counts under the headings the participant saw; the experiments' answers as one "scenarios" line."""
    instruments, experiments = journey.runtime.protocol.instruments, journey.runtime.experiments
    out = [((instruments[name].data.heading if name in instruments else None) or DEFAULT_HEADING, count)
           for name, count in counts.items() if name not in experiments]
    scenario_answers = sum(count for name, count in counts.items() if name in experiments)
    return out + ([(SCENARIOS, scenario_answers)] if scenario_answers else [])


@router.get("/my-data")
def page(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep, ctx: ParticipantVisit,
         notice: str | None = None) -> Response:
    """What voxbank holds about the participant, the exports that included them, and their choices."""
    held = holdings(session, ctx.participant)
    titles = {scope.id: scope.title for scope in consent_doc.scopes(journey.runtime.consent)}
    answers = _answers_by_part(journey, held.answers)
    exports = [(TIERS.get(inclusion.tier, inclusion.tier), _day(inclusion.created_at))
               for inclusion in exports_including(session, ctx.participant.id)]
    return render(request, journey, "my_data.html", {
        "title": "Your data", "held": held, "answers": answers, "scenarios_heading": SCENARIOS,
        "exports": exports, "day": _day,
        "scopes": [titles.get(scope, scope) for scope in held.consent_scopes],
        "sharing": [titles.get(scope, scope) for scope in held.sharing],
        "scheduled": [(SCHEDULED.get(kind, kind.replace("_", " ")), _day(due), STATUSES.get(status, status))
                      for kind, due, status in held.scheduled],
        "statuses": STATUSES, "withdrawn": ctx.participant.status == "withdrawn",
        "token": signer.form_token(ctx.visit.id if ctx.visit else 0, 0, PURPOSE),
        "stopped_notice": notice == "sharing_stopped",
    }, signed_in=ctx.participant.status != "withdrawn")


@router.get("/my-data/download")
def own_copy(journey: JourneyDep, session: SessionDep, ctx: ParticipantVisit) -> Response:
    """The participant's answers and interview turns as one JSON file; the download is audited."""
    protocol = journey.runtime.protocol
    body = download(session, ctx.participant, str(protocol.spec.title), build_catalogue(protocol))
    audit.record(session, f"participant:{ctx.participant.pseudonym_id}", "participant.data_download",
                 f"participant:{ctx.participant.id}",
                 {"answers": len(body["answers"]), "game_decisions": len(body["game_decisions"]),
                  "turns": sum(len(part["turns"]) for part in body["interviews"])})
    session.commit()
    return Response(json.dumps(body, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="my-data-{journey.runtime.slug}.json"'})


@router.post("/my-data/stop-sharing")
def stop(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep, ctx: ParticipantVisit,
         form: FormDep) -> Response:
    """Take the participant out of every future export (a new consent copy without the sharing scopes)."""
    tokens = form.get("token") or []
    signer.check_form_token(tokens[0] if tokens else None, ctx.visit.id if ctx.visit else 0, PURPOSE)
    if set(form) != {"token"} or len(tokens) != 1:
        raise TamperedForm("The form holds fields it does not have. Nothing was changed.")
    stop_sharing(session, ctx.participant)
    session.commit()
    return RedirectResponse(f"{base_path(request, journey.runtime.slug)}/my-data?notice=sharing_stopped",
                            status_code=303)
