"""The journey's domain errors. Each carries the HTTP status the web layer answers with.

The web app renders every one of them through a single handler (``web/errors.py``); nothing here
knows about HTTP beyond the number.
"""

from __future__ import annotations


class SurveyError(Exception):
    """Base class: ``status`` is the HTTP status, ``title`` a short heading, the message says what to do."""

    status = 400
    title = "Something went wrong"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title


class InvalidEntry(SurveyError):
    """The study link is malformed (missing or malformed Prolific ids, an unknown quota answer)."""

    status = 400
    title = "This study link is not valid"


class UnknownStudy(SurveyError):
    """No study with that slug is served here."""

    status = 404
    title = "Study not found"


class NotSignedIn(SurveyError):
    """No valid participant capability (cookie) for this study."""

    status = 401
    title = "Please open the study from your Prolific link"


class NotYourVisit(SurveyError):
    """A form or capability names a visit other than the one the participant holds."""

    status = 403
    title = "This page belongs to someone else"


class SessionNotProven(SurveyError):
    """A known Prolific id arrived with a session this study cannot tie to the participant (another device)."""

    status = 403
    title = "We could not confirm it is you"


class ResumeCodeNeeded(SessionNotProven):
    """A known Prolific id arrived from the right study with a new session, in a browser that does not hold
    the participant's place: the participant may prove it is them with their resume code."""


class ServerBusy(SurveyError):
    """The server carries as many live interviews as it may; try again shortly."""

    status = 503
    title = "Busy, please try again"


class TamperedForm(SurveyError):
    """A submission a browser showing our page could not have sent: unknown fields, impossible values."""

    status = 400
    title = "This form could not be accepted"


class FormExpired(SurveyError):
    """The form token is missing or its signature does not verify."""

    status = 400
    title = "This form could not be verified"


class NotAvailable(SurveyError):
    """The participant's state does not allow this (withdrawn, declined, not at that page)."""

    status = 409
    title = "This is not available"
