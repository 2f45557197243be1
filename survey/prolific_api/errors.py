"""Prolific's failures, translated at the boundary into a small hierarchy with a ``retryable`` flag.

Callers need to know two things about a failed call: may it be tried again, and could it have
taken effect anyway. ``ProlificUnavailable`` (429, 503, a refused connection, after the client's
own retries) did not take effect and may be tried later. ``ProlificOutcomeUnknown`` is a call that
is not safe to repeat blindly (sending a message, paying a bonus) and that failed in a way that
leaves open whether Prolific acted on it (a 500, a read timeout): the caller must look before it
tries again. ``ProlificRejected`` is a 4xx: trying again will not help.
"""

from __future__ import annotations


class ProlificError(Exception):
    """Base class; ``status`` is Prolific's HTTP status when there was one."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ProlificNotConfigured(ProlificError):
    """A setting the call needs (token, group, retest study) is missing."""


class ProlificRejected(ProlificError):
    """Prolific refused the request (4xx other than 429): fix the request or the data, not the timing."""


class ProlificUnavailable(ProlificError):
    """Prolific could not be reached or asked us to slow down; the request did not take effect."""

    retryable = True


class ProlificOutcomeUnknown(ProlificError):
    """A request that must not be sent twice failed after it may have reached Prolific; look before retrying."""

    retryable = True
