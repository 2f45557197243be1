"""A small client for Prolific's researcher API (``https://api.prolific.com/api/v1/``), on httpx.

Only what voxbank does with Prolific: participant groups (the wave-2 study's allowlist), messages,
submissions (read, approve) and bonuses (set up, then pay). Every call has a timeout. 429 and 503
are retried after ``Retry-After`` (or an exponential backoff with jitter), up to ``RetryPolicy``'s
attempts; 500, 502 and 504 and read timeouts are retried only for requests that are safe to repeat.
A request that is not (``send_message``, ``pay_bonus``) raises ``ProlificOutcomeUnknown`` instead,
and its caller looks before trying again (see ``survey.scheduling``).

Errors are translated here into ``survey.prolific_api.errors``; nothing above this module sees
httpx. Log messages are static; ids go in structured fields.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from survey.backoff import backoff_s
from survey.prolific_api.errors import (
    ProlificNotConfigured,
    ProlificOutcomeUnknown,
    ProlificRejected,
    ProlificUnavailable,
)

logger = logging.getLogger(__name__)

API = "/api/v1"
PARTICIPANT_STUDY_URL = "https://app.prolific.com/studies/{study_id}"
"""Where a participant finds a study on Prolific (the link put in invitations)."""

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
NOT_APPLIED = {429, 503}
"""Statuses that mean the request was not acted on: any request may be sent again."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: ``attempts`` tries in all, waits capped at ``max_wait_s``.

    The defaults keep one call under about a minute (3 tries of at most 10 s, 2 waits of at most
    20 s), well inside the scheduler's claim on an action.
    """

    attempts: int = 3
    base_wait_s: float = 1.0
    max_wait_s: float = 20.0

    def wait_s(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1``: Retry-After when given, else backoff with jitter."""
        if retry_after is not None:
            return min(self.max_wait_s, max(0.0, retry_after))
        return backoff_s(attempt, base_s=self.base_wait_s, cap_s=self.max_wait_s)


@dataclass(frozen=True)
class BonusSetUp:
    """A bulk bonus payment set up on Prolific and not yet paid."""

    id: str
    total_amount: Any = None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def normalise_status(status: str) -> str:
    """Prolific spells statuses both ways ("AWAITING REVIEW", "TIMED-OUT"); keep one: AWAITING_REVIEW, TIMED_OUT."""
    return status.strip().upper().replace(" ", "_").replace("-", "_")


def format_amount(cents: int) -> str:
    """A bonus amount as Prolific's CSV wants it: the study currency, two decimals (425 -> "4.25")."""
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


class ProlificClient:
    """Prolific's API with a token. Use as a context manager, or call ``close()``."""

    def __init__(self, base_url: str, token: str, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise ProlificNotConfigured("no Prolific API token: set VOXBANK_PROLIFIC_TOKEN")
        self.retry = retry
        self._sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Token {token}", "Accept": "application/json"})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ProlificClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, *, idempotent: bool, json: Any = None,
                 params: dict[str, Any] | None = None) -> httpx.Response:
        """Send one request with the retry policy; raise a ``ProlificError`` for anything but 2xx."""
        where = f"{method} {path}"
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            retry_after: float | None = None
            try:
                response = self._http.request(method, path, json=json, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                last = f"could not connect ({type(error).__name__})"  # never sent: safe to repeat
            except httpx.TransportError as error:
                if not idempotent:
                    raise ProlificOutcomeUnknown(
                        f"{where}: {type(error).__name__} after the request was sent; it may have taken effect"
                    ) from None
                last = f"no answer ({type(error).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return response
                detail = _detail(response)
                if status in NOT_APPLIED:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    last = f"answered {status}{detail}"
                elif status >= 500:
                    if not idempotent:
                        raise ProlificOutcomeUnknown(
                            f"{where}: Prolific answered {status}{detail}; it may have taken effect", status=status)
                    last = f"answered {status}{detail}"
                else:
                    raise ProlificRejected(f"{where}: Prolific answered {status}{detail}", status=status)
            if attempt < self.retry.attempts:
                wait = self.retry.wait_s(attempt, retry_after)
                logger.info("prolific call will be retried", extra={"call": where, "attempt": attempt,
                                                                     "wait_s": round(wait, 2)})
                self._sleep(wait)
        raise ProlificUnavailable(f"{where}: {last} ({self.retry.attempts} tries)")

    # ------------------------------------------------------------------ account

    def me(self) -> dict[str, Any]:
        """The researcher the token belongs to (``GET /users/me/``); checks that the token works."""
        return dict(self._request("GET", f"{API}/users/me/", idempotent=True).json())

    # ------------------------------------------------------------------ participant groups

    def add_to_group(self, group_id: str, participant_ids: Sequence[str]) -> None:
        """Add participants to a participant group (idempotent: members stay members)."""
        self._request("POST", f"{API}/participant-groups/{group_id}/participants/", idempotent=True,
                      json={"participant_ids": list(participant_ids)})

    def remove_from_group(self, group_id: str, participant_ids: Sequence[str]) -> None:
        """Remove participants from a participant group (idempotent)."""
        self._request("DELETE", f"{API}/participant-groups/{group_id}/participants/", idempotent=True,
                      json={"participant_ids": list(participant_ids)})

    def group_members(self, group_id: str) -> list[str]:
        """The participant ids in a participant group."""
        out = []
        for item in self._pages(f"{API}/participant-groups/{group_id}/participants/", {}):
            member = item.get("participant_id") or item.get("id")
            if member:
                out.append(str(member))
        return out

    # ------------------------------------------------------------------ messages

    def send_message(self, recipient_id: str, body: str, study_id: str) -> None:
        """Send a message to one participant about a study. Not idempotent: see ``messages_with``."""
        self._request("POST", f"{API}/messages/", idempotent=False,
                      json={"recipient_id": recipient_id, "body": body, "study_id": study_id})

    def messages_with(self, user_id: str, created_after: datetime) -> list[dict[str, Any]]:
        """The messages between us and one participant since ``created_after`` (to check what was sent)."""
        response = self._request("GET", f"{API}/messages/", idempotent=True,
                                 params={"user_id": user_id, "created_after": created_after.isoformat()})
        return list(response.json().get("results", []))

    # ------------------------------------------------------------------ submissions

    def submission(self, submission_id: str) -> dict[str, Any]:
        """One submission (status, participant, ``bonus_payments`` in cents)."""
        return dict(self._request("GET", f"{API}/submissions/{submission_id}/", idempotent=True).json())

    def submissions(self, study_id: str) -> Iterator[dict[str, Any]]:
        """Every submission of a study, page by page."""
        yield from self._pages(f"{API}/submissions/", {"study": study_id})

    def approve(self, submission_id: str) -> None:
        """Approve a submission (Prolific then pays its reward)."""
        self._request("POST", f"{API}/submissions/{submission_id}/transition/", idempotent=True,
                      json={"action": "APPROVE"})

    # ------------------------------------------------------------------ bonuses

    def set_up_bonus(self, study_id: str, bonuses: Sequence[tuple[str, int]]) -> BonusSetUp:
        """Set up (not pay) bonuses for ``(participant id, cents)`` pairs; returns the bulk payment's id.

        A repeated set-up only makes another unpaid bulk payment: nothing is paid until ``pay_bonus``.
        """
        csv = "\n".join(f"{participant},{format_amount(cents)}" for participant, cents in bonuses)
        data = self._request("POST", f"{API}/submissions/bonus-payments/", idempotent=True,
                             json={"study_id": study_id, "csv_bonuses": csv}).json()
        if not data.get("id"):
            raise ProlificRejected("POST /submissions/bonus-payments/: Prolific's answer has no id")
        return BonusSetUp(str(data["id"]), data.get("total_amount"))

    def pay_bonus(self, bulk_payment_id: str) -> None:
        """Pay a set-up bulk bonus payment. NOT idempotent: a second call pays again (Prolific's docs)."""
        self._request("POST", f"{API}/bulk-bonus-payments/{bulk_payment_id}/pay/", idempotent=False)

    # ------------------------------------------------------------------ helpers

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        url: str | None = path
        query: dict[str, Any] | None = params
        for _ in range(10_000):
            if url is None:
                return
            data = self._request("GET", url, idempotent=True, params=query).json()
            yield from data.get("results", [])
            following = (data.get("_links") or {}).get("next") or {}
            url = following.get("href") if isinstance(following, dict) else None
            query = None  # the next link carries its own query


def _detail(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f": {text[:300]}" if text else ""
