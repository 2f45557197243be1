"""Runs one interview in a child process so that a test can kill it mid-interview.

    python -m tests.interviewer.conductor.crash_driver DATABASE_URL LLM_URL [--block-at QUESTION_ID]

The participant's answers depend only on what is stored (the question, and how many answers it
already has), and the stand-in LLM's replies only on the prompt, so a run resumed after a crash
can be compared turn for turn with one that never crashed. With ``--block-at``, the participant
never answers that question: the process waits there until it is killed.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor import Conductor, Reply, guide_file
from interviewer.llm import LLMClient
from storage.db import make_engine, make_session_factory
from storage.models import Turn

ANSWERS = {
    "life_story_overview": ["I grew up in Ohio with my mom. [more]",
                            "Then we moved to Texas when I was ten. [more] [hang]",
                            "After school I became a welder, and I still am."],
    "crossroads_moment": ["Leaving the Army in 2004. [more]", "I had to find work, and I found it."],
    "children_school_day_routine": ["My two kids take the bus at seven and play soccer after school."],
    "political_views": ["Moderate, I'd say. [more]", "Taxes and schools matter most to me."],
    "values_most": ["My family, and being honest."],
}


def decision(answer: str) -> dict[str, str]:
    """The stand-in's decision: a follow-up when the answer asks for one ("[more]"), else move on."""
    if "[more]" in answer:
        return {"signal": "none", "action": "follow_up",
                "follow_up": f"Could you say more about that, the part with {len(answer)} letters?"}
    return {"signal": "none", "action": "move_on", "follow_up": "Is there anything else?"}


class StoredScript:
    """Answers by question and by how many answers to it are already stored."""

    def __init__(self, factory: sessionmaker[Session], interview_id: int, block_at: str | None = None) -> None:
        self.factory, self.interview_id, self.block_at = factory, interview_id, block_at

    def __call__(self, reply: Reply) -> tuple[str, float]:
        question = reply.question_id or ""
        if question == self.block_at:
            while True:  # the participant walks away; the test kills the process here
                time.sleep(1)
        with self.factory() as session:
            given = session.scalar(select(func.count()).select_from(Turn).where(
                Turn.interview_id == self.interview_id, Turn.speaker == "participant", Turn.question_id == question))
        script = ANSWERS.get(question, [])
        text = script[given] if given is not None and given < len(script) else "That is all I can say."
        return text, 12.0 + len(text) / 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("llm_url")
    parser.add_argument("--block-at")
    args = parser.parse_args()
    factory = make_session_factory(make_engine(args.database_url))
    llm = LLMClient(base_url=args.llm_url, model="stand-in", api_key=None, timeout_s=60.0, style="chat")
    conductor = Conductor.start(guide_file("short"), llm, factory)
    print(conductor.interview_id, flush=True)
    answer = StoredScript(factory, conductor.interview_id, args.block_at)
    reply = conductor.open()
    while not reply.done:
        reply = conductor.respond(*answer(reply))


if __name__ == "__main__":
    main()
