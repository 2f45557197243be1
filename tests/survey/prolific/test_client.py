"""The Prolific client against the stand-in: timeouts on every call, back-off on 429/5xx (Retry-After
respected), no blind repeat of a call that may have taken effect, errors named by call and status."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import pytest
from prolific_standin import TOKEN
from retest_fixtures import GROUP, WAVE1_STUDY, pid, submission

from survey.prolific_api import (
    ProlificClient,
    ProlificNotConfigured,
    ProlificOutcomeUnknown,
    ProlificRejected,
    ProlificUnavailable,
    RetryPolicy,
)
from survey.prolific_api.client import DEFAULT_TIMEOUT, format_amount, parse_retry_after


@pytest.fixture
def client(prolific, sleeps):
    with ProlificClient(prolific.url, TOKEN, sleep=sleeps.append) as c:
        yield c


def test_every_call_has_a_timeout_and_the_token(client, prolific) -> None:
    assert client._http.timeout == DEFAULT_TIMEOUT == httpx.Timeout(10.0, connect=5.0)
    assert client.me()["name"] == "Stand-in researcher"
    assert client._http.headers["Authorization"] == f"Token {TOKEN}"
    with pytest.raises(ProlificNotConfigured, match="set VOXBANK_PROLIFIC_TOKEN"):
        ProlificClient(prolific.url, "")


def test_429_waits_as_long_as_retry_after_says(client, prolific, sleeps) -> None:
    prolific.fail("POST", "/api/v1/participant-groups/.*", "429", retry_after="7")
    client.add_to_group(GROUP, [pid(1)])
    assert sleeps == [7.0]
    assert prolific.state.groups[GROUP] == {pid(1)}
    assert parse_retry_after("Wed, 04 Mar 2026 10:00:30 GMT", now=datetime(2026, 3, 4, 10, 0, tzinfo=UTC)) == 30.0
    assert parse_retry_after("soon") is None


def test_503_is_retried_with_backoff_and_then_reported_as_unavailable(client, prolific, sleeps) -> None:
    prolific.fail("GET", "/api/v1/users/me/", "503", times=3)
    with pytest.raises(ProlificUnavailable) as raised:
        client.me()
    assert raised.value.retryable
    assert raised.value.message == 'GET /api/v1/users/me/: answered 503: {"error":{"detail":"stand-in 503"}} (3 tries)'
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # 1 s, 2 s, each 50-100 %


def test_a_500_is_retried_for_a_read_but_not_for_a_message(client, prolific) -> None:
    prolific.add_submission(submission(1), WAVE1_STUDY, pid(1))
    prolific.fail("GET", "/api/v1/submissions/.*", "500")
    assert client.submission(submission(1))["status"] == "AWAITING REVIEW"
    prolific.fail("POST", "/api/v1/messages/", "500")
    with pytest.raises(ProlificOutcomeUnknown, match="it may have taken effect"):
        client.send_message(pid(1), "Hello", WAVE1_STUDY)
    assert prolific.count("POST", "/api/v1/messages/") == 1


def test_a_lost_answer_to_a_payment_is_an_unknown_outcome(prolific) -> None:
    prolific.add_submission(submission(1), WAVE1_STUDY, pid(1))
    with ProlificClient(prolific.url, TOKEN, timeout=httpx.Timeout(0.5)) as client:
        bulk = client.set_up_bonus(WAVE1_STUDY, [(pid(1), 425)])
        prolific.fail("POST", "/api/v1/bulk-bonus-payments/.*", "hang_after")
        with pytest.raises(ProlificOutcomeUnknown, match="ReadTimeout after the request was sent"):
            client.pay_bonus(bulk.id)
    prolific.release()
    assert prolific.bonuses_paid() == 1


def test_a_refusal_is_not_retried(client, prolific, sleeps) -> None:
    with pytest.raises(ProlificRejected) as raised:
        client.approve("5e0000000000000000000000")
    assert (raised.value.status, raised.value.retryable, sleeps) == (404, False, [])
    with ProlificClient(prolific.url, "wrong-token") as other, pytest.raises(ProlificRejected, match="answered 401"):
        other.me()


def test_an_unreachable_prolific_is_unavailable(sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ProlificClient(f"http://127.0.0.1:{port}", TOKEN, retry=RetryPolicy(attempts=2), sleep=sleeps.append) as c:
        with pytest.raises(ProlificUnavailable, match=r"could not connect \(ConnectError\) \(2 tries\)"):
            c.me()


def test_submissions_are_read_page_by_page(client, prolific) -> None:
    for n in range(1, 6):
        prolific.add_submission(submission(n), WAVE1_STUDY, pid(n))
    prolific.add_submission(submission(9), "another-study", pid(9))
    assert [s["id"] for s in client.submissions(WAVE1_STUDY)] == [submission(n) for n in range(1, 6)]
    assert prolific.count("GET", "/api/v1/submissions/") == 3


def test_bonus_amounts_are_written_in_the_study_currency() -> None:
    assert [format_amount(c) for c in (425, 30, 1000, 0)] == ["4.25", "0.30", "10.00", "0.00"]
