"""A crashed interview resumes from its checkpoint: no turn lost, none said twice, and the same
transcript as a run that never crashed."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from interviewer.conductor import Conductor, ConductorError
from tests.interviewer.conductor.crash_driver import StoredScript, decision
from tests.interviewer.scripted_participants import interview, run, timed_transcript, transcript
from tests.llm_stand_in import Call, Hang, StandInLLM

REPO = Path(__file__).resolve().parents[3]


def _deterministic(stand_in: StandInLLM, *, hang_on: str | None = None) -> threading.Event:
    """Replies that depend only on the prompt; the first decision on an answer with ``hang_on`` hangs."""
    hung = threading.Event()

    def on_decision(call: Call) -> object:
        if hang_on is not None and hang_on in call.last_answer and not hung.is_set():
            hung.set()
            return Hang()
        return decision(call.last_answer)

    stand_in.on_decision = on_decision
    return hung


def _wait_for(condition, what: str, timeout_s: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("crash", ["while_the_llm_decides", "while_the_participant_thinks"])
def test_a_crash_mid_interview_resumes_to_the_transcript_of_an_uninterrupted_run(
        crash, short_guide, llm, factory, database_url, stand_in) -> None:
    _deterministic(stand_in)
    uninterrupted = Conductor.start(short_guide, llm, factory)
    run(uninterrupted, StoredScript(factory, uninterrupted.interview_id))
    expected = timed_transcript(factory, uninterrupted.interview_id)

    hung = _deterministic(stand_in, hang_on="[hang]" if crash == "while_the_llm_decides" else None)
    block = ["--block-at", "political_views"] if crash == "while_the_participant_thinks" else []
    child = subprocess.Popen([sys.executable, "-m", "tests.interviewer.conductor.crash_driver", database_url,
                              stand_in.url, *block], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        interview_id = int(child.stdout.readline())
        if crash == "while_the_llm_decides":
            _wait_for(hung.is_set, "the decision on the [hang] answer")
        else:
            _wait_for(lambda: any(qid == "political_views" for _, _, qid, _ in transcript(factory, interview_id)),
                      "the political views question")
    finally:
        child.kill()
        child.wait(timeout=30)

    at_crash = transcript(factory, interview_id)
    if crash == "while_the_llm_decides":
        assert at_crash[-1][0] == "participant" and "[hang]" in at_crash[-1][3]  # the answer was kept
    else:
        assert at_crash[-1][:3] == ("interviewer", "scripted", "political_views")

    resumed = Conductor.resume(interview_id, short_guide, llm, factory)
    reply = resumed.open()
    if crash == "while_the_participant_thinks":
        assert reply.resumed and reply.question_id == "political_views"
        assert transcript(factory, interview_id) == at_crash  # said again, but not recorded twice
    run(resumed, StoredScript(factory, interview_id))

    assert timed_transcript(factory, interview_id) == expected
    assert interview(factory, interview_id).status == "completed"


def test_resuming_an_ended_interview_says_the_closing_again_and_takes_no_answers(short_guide, llm, factory,
                                                                                 stand_in) -> None:
    finished = Conductor.start(short_guide, llm, factory)
    run(finished, StoredScript(factory, finished.interview_id))
    resumed = Conductor.resume(finished.interview_id, short_guide, llm, factory)
    reply = resumed.open()
    assert reply.done and reply.resumed and reply.kind == "closing"
    with pytest.raises(ConductorError, match="the interview has ended"):
        resumed.respond("hello?", 1.0)


def test_an_interview_is_resumed_only_with_the_guide_it_started_with(short_guide, avp_guide, llm, factory,
                                                                     stand_in) -> None:
    started = Conductor.start(short_guide, llm, factory)
    expected = re.escape(f"was started with guide 'short' ({short_guide.content_hash[:12]})")
    with pytest.raises(ConductorError, match=expected):
        Conductor.resume(started.interview_id, avp_guide, llm, factory)
