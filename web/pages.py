"""Rendering helpers shared by the participant routes: the common page context and the page views."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from survey.fields import SKIP_MESSAGE, Field
from survey.journey import Journey, Shown
from survey.prolific_links import completion_url
from survey.steps import DEFAULT_HEADING, step_kind
from web.capability import cookie_name

__all__ = ["DEFAULT_HEADING", "NOTICES", "base_path", "blank_errors", "page_context", "prolific_link", "render",
           "section"]

NOTICES = {
    "already_saved": "That page had already been saved (perhaps in another tab or by a double click). "
                     "Nothing was lost or saved twice; here is where you are now.",
    "already_finished": "You have already finished this part of the study.",
}


def base_path(request: Request, slug: str) -> str:
    """The study's path prefix, honouring a proxy's root path."""
    return f"{request.scope.get('root_path', '')}/study/{slug}"


def render(request: Request, journey: Journey, template: str, context: dict[str, Any], *,
           status: int = 200, signed_in: bool = False) -> Response:
    """Render a participant page with the study's common context (title, links, withdrawal link)."""
    base = base_path(request, journey.runtime.slug)
    full = {
        "resume_code": _resume_code(request, journey) if signed_in else None,
        "study_title": "Research study",
        "base": base,
        "withdraw_url": f"{base}/withdraw" if signed_in else None,
        "my_data_url": f"{base}/my-data" if signed_in else None,
        "contact_email": journey.contact_email,
        **context,
    }
    return request.app.state.templates.TemplateResponse(request, template, full, status_code=status)  # type: ignore[no-any-return]


def _resume_code(request: Request, journey: Journey) -> str | None:
    """The signed-in participant's resume code (``web.resume_code``), shown in the footer of their pages."""
    slug = journey.runtime.slug
    capability = request.app.state.signer.read_capability(slug, request.cookies.get(cookie_name(slug)))
    if capability is None:
        return None
    return request.app.state.resume_codes.code_for(slug, capability.pseudonym_id)  # type: ignore[no-any-return]


def section(journey: Journey, shown: Shown) -> tuple[str, str | None]:
    """(heading, part label) for a page: "Money game 2 of 5", "Your views and your life", "Part 3 of 19"."""
    return step_kind(shown.step).heading(journey.runtime, shown)


def page_context(journey: Journey, shown: Shown, *, token: str, values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None, skip_prompt: bool = False,
                 notice: str | None = None) -> dict[str, Any]:
    """The template context of a questions, game or scenario page."""
    heading, part = section(journey, shown)
    context: dict[str, Any] = {
        "title": heading,
        "part": part,
        "position": shown.position,
        "total": shown.total,
        "fields": shown.fields,
        "values": values or {},
        "errors": errors or {},
        "skip_prompt": skip_prompt,
        "token": token,
        "notice": NOTICES.get(notice or ""),
        "instructions": None,
        "stimulus": None,
        "step": shown.step,
    }
    context.update(step_kind(shown.step).context(journey.runtime, shown))
    return context


def blank_errors(fields: list[Field], errors: dict[str, str]) -> int:
    """How many of the errors only ask the participant to confirm a blank answer."""
    return sum(1 for f in fields if errors.get(f.name) == SKIP_MESSAGE)


def prolific_link(code: str | None) -> str | None:
    """Prolific's completion URL for a code, or None."""
    return completion_url(code) if code else None
