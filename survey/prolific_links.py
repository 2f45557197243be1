"""Prolific's URL conventions: the ids a study link carries and where a participant is sent back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from survey.errors import InvalidEntry

COMPLETION_URL = "https://app.prolific.com/submissions/complete"
PROLIFIC_ID = re.compile(r"[0-9a-f]{24}")
PARAMETERS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")


@dataclass(frozen=True)
class ProlificIds:
    """The three ids Prolific appends to a study link; each is 24 lowercase hex characters."""

    participant_id: str
    study_id: str
    session_id: str


def parse_ids(params: dict[str, str | None]) -> ProlificIds:
    """Validate the ids from a study link; raise InvalidEntry naming every missing or malformed one."""
    problems = []
    values = {}
    for name in PARAMETERS:
        raw = (params.get(name) or "").strip()
        if not raw:
            problems.append(f"{name} is missing")
        elif not PROLIFIC_ID.fullmatch(raw.lower()):
            problems.append(f"{name} is not a Prolific id (24 characters, 0-9 and a-f)")
        values[name] = raw.lower()
    if problems:
        raise InvalidEntry(
            "The link you followed is incomplete or was changed: " + "; ".join(problems) + ". "
            "Please go back to Prolific and open the study from its link again. Nothing has been saved."
        )
    return ProlificIds(values["PROLIFIC_PID"], values["STUDY_ID"], values["SESSION_ID"])


def completion_url(code: str) -> str:
    """Where a participant goes to finish on Prolific with this completion (or screened-out) code."""
    return f"{COMPLETION_URL}?{urlencode({'cc': code})}"
