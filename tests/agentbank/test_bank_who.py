"""Who is exported (only people whose interview ended) and how their transcript reads after scrubbing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bank_data import BOTH, HASH
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import protocols
from agentbank.export import run_export
from agentbank.manifest import MANIFEST
from agentbank.pseudonyms import agent_name
from agentbank.selection import MIN_WORDS_IF_STOPPED, interview_reason
from interviewer.transcription.merge import merge_channels
from interviewer.transcription.whisper import RawSegment, Word
from storage import models as m

AT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
INTRO = "Hello, I'm Isabella, and thank you so much for joining me today. I am an AI interviewer, not a person."
QUESTION = "To start, I'd love to hear the story of your life."
ANSWER = "I was born in Dayton, Ohio. My mother, Rosalind Featherstone, raised me alone."
FOLLOW_UP = "What was it like growing up with Rosalind?"
ANSWER_2 = "Hard but loving. Call me at 312-555-0143 if you want to know more."
FOLLOW_UP_2 = "Thank you. What do you value most?"
ANSWER_3 = "My kids, and my church on 1600 Maple Avenue."
CLOSING = "That brings us to the end of our conversation. Thank you so much for your time."


def words(text: str, start: float) -> tuple[Word, ...]:
    return tuple(Word(start + 0.4 * i, start + 0.4 * i + 0.3, f" {word}", 0.9) for i, word in enumerate(text.split()))


def segment(*parts: tuple[str, float]) -> RawSegment:
    spoken = tuple(word for text, start in parts for word in words(text, start))
    return RawSegment(start=spoken[0].start, end=spoken[-1].end, text=" ".join(text for text, _ in parts),
                      avg_logprob=-0.3, no_speech_prob=0.02, compression_ratio=1.4, words=spoken)


# The interviewer channel's Whisper segment from 20 s to 102 s holds the question and both follow-ups;
# the answers fall in its silences. The merge must put each answer after the words it replied to.
INTERVIEWER = [segment((INTRO, 0.0)), segment((QUESTION, 20.0), (FOLLOW_UP, 60.0), (FOLLOW_UP_2, 100.0)),
               segment((CLOSING, 140.0))]
PARTICIPANT = [segment((ANSWER, 30.0)), segment((ANSWER_2, 70.0)), segment((ANSWER_3, 110.0))]
LIVE = [("interviewer", "life_story_overview", INTRO, 0.0), ("interviewer", "life_story_overview", QUESTION, 20.0),
        ("participant", "life_story_overview", ANSWER, 30.0), ("interviewer", "life_story_overview", FOLLOW_UP, 60.0),
        ("participant", "life_story_overview", ANSWER_2, 70.0),
        ("interviewer", "life_story_overview", FOLLOW_UP_2, 100.0),
        ("participant", "life_story_overview", ANSWER_3, 110.0), ("interviewer", None, CLOSING, 140.0)]
LONG_ANSWER = " ".join(["I worked on the farm with my father every summer until I left for the city."] * 22)


def add_person(session: Session, study: m.Study, n: int, status: str,
               script: list[tuple[str, str | None, str, float]], transcript: list[dict] | None = None) -> str:
    pseudonym = f"5a1d0c3e-7b2f-4e8a-9c6d-0f1e2d3c4b{n:02d}"
    participant = m.Participant(study=study, prolific_pid=f"PID{n}", pseudonym_id=pseudonym)
    session.add(participant)
    session.add(m.Consent(participant=participant, document_version="1", text="I agree.", text_hash=HASH,
                          scopes=BOTH, signed_at=AT))
    visit = m.Visit(participant=participant, wave=1, status="completed" if status != "in_progress" else "started",
                    started_at=AT)
    interview = m.Interview(visit=visit, guide_id="avp", protocol_version="1.0.0", protocol_hash=HASH, status=status,
                            started_at=AT)
    session.add_all([visit, interview])
    for seq, (speaker, question_id, text, start) in enumerate(script):
        session.add(m.Turn(interview=interview, seq=seq, speaker=speaker, kind="scripted", question_id=question_id,
                           text=text, start_s=start, end_s=start + 5, protocol_hash=HASH))
    if transcript is not None:
        session.add(m.Transcript(interview=interview, source="offline", model="tiny.en", model_version="1",
                                 settings={}, settings_hash=HASH, segments=transcript,
                                 text=" ".join(s["text"] for s in transcript)))
    if status != "in_progress":  # the battery: one answer is enough here
        session.flush()
        session.add(m.Response(visit_id=visit.id, wave=1, instrument="gss_core", item_id="sex", value_number=1.0,
                               presentation_order=0, protocol_hash=HASH))
    return pseudonym


@pytest.fixture
def five(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """Four people whose interview ended (three completed, one stopped after a long answer), one who never finished."""
    short = [("interviewer", "life_story_overview", QUESTION, 0.0),
             ("participant", "life_story_overview", "I grew up near the lake and still live there.", 10.0)]
    with session_factory() as session, session.begin():
        study = m.Study(slug="park2024", title="Park et al. 2024", protocol_version="1.0.0", protocol_hash=HASH)
        session.add(study)
        people = {
            "scrubbed": add_person(session, study, 0, "completed", LIVE,
                                   merge_channels({"interviewer": INTERVIEWER, "participant": PARTICIPANT})),
            "completed_1": add_person(session, study, 1, "completed", short),
            "completed_2": add_person(session, study, 2, "completed", short),
            "stopped_long": add_person(session, study, 3, "stopped", [
                ("interviewer", "life_story_overview", QUESTION, 0.0),
                ("participant", "life_story_overview", LONG_ANSWER, 10.0)]),
            "never_finished": add_person(session, study, 4, "in_progress", short[:1]),
        }
    return people


@pytest.fixture
def export(session_factory, five: dict[str, str], tmp_path: Path):
    study = protocols.load_study(protocols.default_study_dir())
    return run_export(session_factory, study, tmp_path / "bank", tier="restricted", actor="staff:a")


def test_only_the_four_whose_interview_ended_are_exported_and_the_fifth_is_counted(export, five: dict[str, str]):
    exported = {path.name for path in (export.out / "agents").iterdir()}
    assert exported == {five[key] for key in ("scrubbed", "completed_1", "completed_2", "stopped_long")}
    manifest = json.loads((export.out / MANIFEST).read_text())
    assert manifest["counts"]["participants"] == 4
    assert manifest["left_out"] == {"interview_not_ended": 1}
    assert manifest["left_out_reasons"]["interview_not_ended"] == "interview not ended (pending or in progress)"
    for person in exported:  # every memory holds something the participant said
        nodes = json.loads((export.out / "agents" / person / "memory_stream" / "nodes.json").read_text())
        assert nodes and all(not node["content"].endswith(": \n\n") for node in nodes)


def test_one_transcript_scrubbed_end_to_end_line_by_line(export, five: dict[str, str], session_factory):
    person = five["scrubbed"]
    first, _ = agent_name(person)
    with session_factory() as session:
        participant = session.scalars(select(m.Participant).where(m.Participant.pseudonym_id == person)).one()
        rows = session.scalars(select(m.PiiReplacement).where(m.PiiReplacement.participant_id == participant.id))
        stand_in = {row.original: row.replacement for row in rows}
    nodes = json.loads((export.out / "agents" / person / "memory_stream" / "nodes.json").read_text())
    lines = [line for node in nodes for line in node["content"].split("\n")]
    rosalind, featherstone = stand_in["Rosalind"], stand_in["Featherstone"]
    assert lines == [
        # The study's own words stay: the interviewer's name and "AI interviewer".
        f"Interviewer: {INTRO} {QUESTION}", "",
        f"{first}: I was born in [place 1], Ohio. My mother, {rosalind} {featherstone}, raised me alone.", "", "",
        f"Interviewer: What was it like growing up with {rosalind}?", "",
        f"{first}: Hard but loving. Call me at [phone number] if you want to know more.", "", "",
        "Interviewer: Thank you. What do you value most?", "",
        f"{first}: My kids, and my church on [street address].", "", "",
    ]
    assert stand_in["Dayton"] == "[place 1]" and "Isabella" not in stand_in and "AI" not in stand_in


def test_a_stopped_interview_counts_only_with_enough_of_the_participants_words() -> None:
    def interview(status: str, said: str) -> m.Interview:
        return m.Interview(status=status, turns=[m.Turn(speaker="participant", text=said)])

    enough = " ".join(["word"] * MIN_WORDS_IF_STOPPED)
    assert interview_reason([interview("stopped", enough)]) is None
    assert interview_reason([interview("abandoned", enough)]) is None
    assert interview_reason([interview("stopped", "Too short.")]) == "interview_stopped_too_short"
    assert interview_reason([interview("in_progress", enough)]) == "interview_not_ended"
    assert interview_reason([interview("pending", "")]) == "interview_not_ended"
    assert interview_reason([interview("in_progress", enough), interview("completed", "")]) is None
    assert interview_reason([]) == "no_interview"
