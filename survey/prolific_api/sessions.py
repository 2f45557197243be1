"""Prolific's word on a session id: whether a submission belongs to a participant in a study.

Used by entry (``survey.journey.Journey._prove``) when a known participant arrives with a
SESSION_ID the study has not stored for them: only Prolific can say that the new submission is
theirs. Any failure to ask (network, 404, a malformed answer) counts as "no": the participant is
refused with a message, never let in on an unchecked id.
"""

from __future__ import annotations

import logging

from survey.prolific_api.client import ProlificClient
from survey.prolific_links import ProlificIds

log = logging.getLogger(__name__)


def confirms_session(client: ProlificClient, ids: ProlificIds) -> bool:
    """Whether Prolific holds submission ``ids.session_id`` for ``ids.participant_id`` in ``ids.study_id``."""
    try:
        submission = client.submission(ids.session_id)
    except Exception:  # the API's errors, timeouts and 404s alike: not confirmed
        log.warning("Prolific could not confirm a session", exc_info=True)
        return False
    participant = submission.get("participant") or submission.get("participant_id")
    return participant == ids.participant_id and submission.get("study_id") == ids.study_id
