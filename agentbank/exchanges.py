"""An interview as a list of exchanges: one interviewer utterance and the participant's answer.

The source is the offline Whisper transcript (``Transcript.source == "offline"``, newest first)
when the interview has one, else the live ``Turn`` rows. Offline segments carry a ``speaker``
(``interviewer`` or ``participant``), ``start`` seconds and ``text``; a segment's question is its
own ``question_id`` when present, else that of the last interviewer turn that started at or
before it (the live turns hold the protocol position, the offline pass the better words).

Consecutive utterances of one speaker are joined with a space. Each interviewer utterance opens
an exchange; the participant's words until the next interviewer utterance are its answer. An
interviewer utterance nobody answered joins the next one (the intro runs into the first
question), and the unanswered words at the end (the closing) are left out: a memory holds
what the participant said.

The offline transcript's segments are taken in time order; its merge
(``interviewer.transcription.merge``) has already split Whisper segments that span several
utterances, so time order is the order they were spoken in.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from storage.models import Interview, Transcript, Turn

INTERVIEWER = "interviewer"
PARTICIPANT = "participant"


@dataclass
class Exchange:
    """One interviewer utterance, the participant's answer, and the scripted question it belongs to."""

    question_id: str | None
    question: str
    answer: str


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech by one speaker."""

    speaker: str
    text: str
    question_id: str | None


def offline_transcript(interview: Interview) -> Transcript | None:
    """The interview's newest offline transcript, if any."""
    offline = [t for t in interview.transcripts if t.source == "offline" and t.segments]
    return max(offline, key=lambda t: (t.created_at, t.id)) if offline else None


def utterances_from_turns(turns: list[Turn]) -> list[Utterance]:
    """The live turns as utterances, in order."""
    return [Utterance(t.speaker, t.text, t.question_id) for t in sorted(turns, key=lambda t: t.seq)]


def utterances_from_segments(segments: list[dict], turns: list[Turn]) -> list[Utterance]:
    """Offline segments as utterances, each placed under the question the live turns were on."""
    asked = sorted((t.start_s, t.question_id) for t in turns if t.speaker == INTERVIEWER)
    starts = [start for start, _ in asked]
    out = []
    for segment in sorted(segments, key=lambda s: float(s.get("start", 0.0))):
        question_id = segment.get("question_id")
        if question_id is None and asked:
            index = bisect.bisect_right(starts, float(segment.get("start", 0.0))) - 1
            question_id = asked[index][1] if index >= 0 else asked[0][1]
        out.append(Utterance(str(segment.get("speaker", "")), str(segment.get("text", "")), question_id))
    return out


def interview_utterances(interview: Interview) -> tuple[list[Utterance], str]:
    """The interview's utterances and where they came from (``offline`` or ``live``)."""
    transcript = offline_transcript(interview)
    if transcript is not None:
        return utterances_from_segments(list(transcript.segments), list(interview.turns)), "offline"
    return utterances_from_turns(list(interview.turns)), "live"


def to_exchanges(utterances: list[Utterance]) -> list[Exchange]:
    """Pair each interviewer utterance with the participant's following words."""
    exchanges: list[Exchange] = []
    previous: str | None = None
    for utterance in utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        if utterance.speaker == INTERVIEWER:
            if previous == INTERVIEWER and exchanges and not exchanges[-1].answer:
                exchanges[-1].question = f"{exchanges[-1].question} {text}"
            else:
                exchanges.append(Exchange(utterance.question_id, text, ""))
        elif utterance.speaker == PARTICIPANT:
            if not exchanges:
                exchanges.append(Exchange(utterance.question_id, "", ""))
            last = exchanges[-1]
            last.answer = f"{last.answer} {text}" if last.answer else text
        else:
            continue
        previous = utterance.speaker
    while exchanges and not exchanges[-1].answer:
        exchanges.pop()
    return exchanges
