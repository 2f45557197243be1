"""Prolific's researcher API: the client, its errors, and the submission webhook.

(``survey.prolific_links`` holds the URL conventions the journey uses; this package talks to the API.)
"""

from survey.prolific_api.client import PARTICIPANT_STUDY_URL, BonusSetUp, ProlificClient, RetryPolicy
from survey.prolific_api.errors import (
    ProlificError,
    ProlificNotConfigured,
    ProlificOutcomeUnknown,
    ProlificRejected,
    ProlificUnavailable,
)

__all__ = [
    "PARTICIPANT_STUDY_URL",
    "BonusSetUp",
    "ProlificClient",
    "ProlificError",
    "ProlificNotConfigured",
    "ProlificOutcomeUnknown",
    "ProlificRejected",
    "ProlificUnavailable",
    "RetryPolicy",
]
