"""Scripted participants for conductor tests: answers chosen by the question, never random."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor import Conductor, Reply
from storage.models import Interview, Turn


@dataclass
class Scripted:
    """Answers from a table keyed by question id (by the order of answers within the question), a
    default otherwise; each answer takes ``seconds``."""

    answers: Mapping[str, list[str]] = field(default_factory=dict)
    default: str = "I grew up in a small town and I have worked most of my life."
    seconds: float = 20.0
    given: dict[str, int] = field(default_factory=dict)

    def __call__(self, reply: Reply) -> tuple[str, float]:
        question = reply.question_id or ""
        index = self.given.get(question, 0)
        self.given[question] = index + 1
        script = self.answers.get(question, [])
        return (script[index] if index < len(script) else self.default), self.seconds


def run(conductor: Conductor, answer: Callable[[Reply], tuple[str, float]], *, max_turns: int = 2000) -> Reply:
    """Drive ``conductor`` to its end (or ``max_turns`` answers)."""
    reply = conductor.open()
    for _ in range(max_turns):
        if reply.done:
            break
        reply = conductor.respond(*answer(reply))
    return reply


def transcript(factory: sessionmaker[Session], interview_id: int) -> list[tuple[str, str, str | None, str]]:
    """(speaker, kind, question id, text) for every stored turn, in order."""
    with factory() as session:
        rows = session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq))
        return [(t.speaker, t.kind, t.question_id, t.text) for t in rows]


def timed_transcript(factory: sessionmaker[Session], interview_id: int) -> list[tuple[object, ...]]:
    """Every stored turn with its timing, for exact comparisons."""
    with factory() as session:
        rows = session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq))
        return [(t.seq, t.speaker, t.kind, t.question_id, t.text, t.start_s, t.end_s, t.protocol_hash) for t in rows]


def interview(factory: sessionmaker[Session], interview_id: int) -> Interview:
    """The stored interview row."""
    with factory() as session:
        row = session.get(Interview, interview_id)
        assert row is not None
        return row
