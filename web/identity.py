"""How the web app asks Prolific about a session id it has not seen (see ``survey.journey.Journey._prove``)."""

from __future__ import annotations

from functools import partial

from survey.journey import SessionCheck
from survey.prolific_api.client import ProlificClient
from survey.prolific_api.sessions import confirms_session
from voxbank.settings import Settings


def session_check(settings: Settings) -> SessionCheck | None:
    """Prolific's API as a session check when a token is configured; None (new sessions need the capability) without."""
    if settings.prolific_token is None:
        return None
    client = ProlificClient(settings.prolific_api_url, settings.prolific_token.get_secret_value())
    return partial(confirms_session, client)
