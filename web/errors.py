"""One handler renders every domain error (``survey.errors.SurveyError``) with its HTTP status.

Browsers get a page; clients that ask for JSON (``Accept: application/json``) get ``ErrorOut``.
Validation errors from FastAPI and plain HTTP errors (404, 405) are rendered the same way.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from survey.errors import SurveyError
from web.schemas import ErrorOut


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render_error(request: Request, status: int, title: str, message: str) -> Response:
    """The error page (or JSON) for a status, heading and message."""
    if _wants_json(request):
        return JSONResponse(ErrorOut(error=title, detail=message).model_dump(), status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "message.html", {"title": title, "message": message},
                                      status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(SurveyError)
    async def survey_error(request: Request, error: SurveyError) -> Response:
        response = render_error(request, error.status, error.title, error.message)
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        return render_error(request, 422, "This request could not be accepted",
                            "Some of what was sent is not in the expected form. Please go back and try again.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "This page cannot be used that way"}
        title = titles.get(error.status_code, "Something went wrong")
        message = ("There is nothing at this address. Please check the link you were given."
                   if error.status_code == 404 else str(error.detail))
        return render_error(request, error.status_code, title, message)
