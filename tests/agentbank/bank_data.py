"""Test data for the agent bank: a small study built directly with the storage models.

Seven participants cover every consent situation; two were interviewed and mention names, places,
phone numbers, e-mails and a street address, which must never reach an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

import protocols
from storage import models as m

AT = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
HASH = "b" * 64
REQUIRED = ["participate", "audio_recording"]
BOTH = [*REQUIRED, "share_transcript_open", "share_transcript_restricted"]

# Real names and places spoken in the interviews: none may appear in any exported file.
PII_WORDS = ["Margaret", "Thompson", "Dwayne", "Okafor", "Springfield", "Elm Street", "555-123-4567",
             "margaret.t@example.com", "Lakewood", "Priya", "Ramanathan", "(614) 555-0172"]

PII_INTERVIEW = [
    ("interviewer", "life_story_overview", "To begin, tell me the story of your life."),
    ("participant", "life_story_overview",
     "My name is Margaret Thompson. I grew up in Springfield, Ohio, and moved to Texas after college."),
    ("interviewer", "life_story_overview", "What was Springfield like for you growing up?"),
    ("participant", "life_story_overview",
     "Quiet. My brother Dwayne Okafor still lives at 42 Elm Street there."),
    ("interviewer", "crossroads", "Tell me about a crossroads in your life."),
    ("participant", "crossroads",
     "When Dwayne got sick I came home. You can reach me at 555-123-4567 or margaret.t@example.com."),
]


def gss_answers(sex: int, age: int, race: int, polviews: int, partyid: int, degree: int,
                natspac: int, relig: int) -> dict[str, float]:
    return {"sex": sex, "age": age, "race": race, "polviews": polviews, "partyid": partyid, "degree": degree,
            "natspac": natspac, "relig": relig, "marital": 1, "born": 1, "wrkstat": 1}


@dataclass
class Person:
    """A participant as the tests know them."""

    key: str
    prolific_pid: str
    pseudonym_id: str
    scopes: list[str]
    id: int = 0
    exported_open: bool = False
    exported_restricted: bool = False


@dataclass
class Bank:
    """The built study."""

    people: dict[str, Person] = field(default_factory=dict)

    def pseudonyms(self, tier: str) -> set[str]:
        return {p.pseudonym_id for p in self.people.values()
                if (p.exported_open if tier == "open" else p.exported_restricted)}


def _turns(interview: m.Interview, script: list[tuple[str, str, str]]) -> list[m.Turn]:
    turns = []
    for seq, (speaker, question_id, text) in enumerate(script):
        turns.append(m.Turn(interview=interview, seq=seq, speaker=speaker, kind="scripted", question_id=question_id,
                            text=text, start_s=10.0 * seq, end_s=10.0 * seq + 8, protocol_hash=HASH))
    return turns


def long_script(guide: protocols.InterviewGuide, questions: int = 41) -> list[tuple[str, str, str]]:
    """A scripted question and two follow-ups for each of the first ``questions`` questions: 3 exchanges each."""
    script = []
    for question in guide.questions()[:questions]:
        script.append(("interviewer", question.id, question.text))
        script.append(("participant", question.id, f"My answer about {question.id}."))
        for follow_up in range(2):
            script.append(("interviewer", question.id, f"Follow-up {follow_up + 1} on {question.id}?"))
            script.append(("participant", question.id, f"More about {question.id}, part {follow_up + 1}."))
    return script


def build_bank(session: Session, study_protocol: protocols.Study) -> Bank:
    """Seven participants: who may go where is in each Person's exported_* flags."""
    study = m.Study(slug="park2024", title="Park et al. 2024", protocol_version="1.0.0", protocol_hash=HASH)
    session.add(study)
    bank = Bank()
    specs = [
        # key, scopes, withdrawn, consent withdrawn, exported open, exported restricted
        ("both", BOTH, False, False, True, True),
        ("open_only", [*REQUIRED, "share_transcript_open"], False, False, True, False),
        ("offline", BOTH, False, False, True, True),
        ("no_sharing", REQUIRED, False, False, False, False),
        ("withdrawn", BOTH, True, False, False, False),
        ("consent_withdrawn", BOTH, False, True, False, False),
        ("reconsented", BOTH, False, False, False, False),
    ]
    guide = study_protocol.interview_guide
    assert guide is not None
    for n, (key, scopes, withdrawn, consent_withdrawn, in_open, in_restricted) in enumerate(specs):
        person = Person(key, f"PROLIFIC{n}X5f3c2b1a9d8e7f6a5b4c", f"0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e{n:02d}",
                        scopes, exported_open=in_open, exported_restricted=in_restricted)
        participant = m.Participant(study=study, prolific_pid=person.prolific_pid, pseudonym_id=person.pseudonym_id,
                                    status="withdrawn" if withdrawn else "active",
                                    withdrawn_at=AT + timedelta(days=20) if withdrawn else None)
        session.add(participant)
        session.add(m.Consent(participant=participant, document_version="1", text="I agree.", text_hash=HASH,
                              scopes=scopes, signed_at=AT,
                              withdrawn_at=AT + timedelta(days=3) if consent_withdrawn else None))
        if key == "reconsented":
            session.add(m.Consent(participant=participant, document_version="1", text="I agree.", text_hash=HASH,
                                  scopes=REQUIRED, signed_at=AT + timedelta(days=1)))
        visits = {wave: m.Visit(participant=participant, wave=wave, status="completed",
                                started_at=AT + timedelta(days=14 * (wave - 1))) for wave in (1, 2)}
        session.add_all(visits.values())
        session.flush()
        person.id = participant.id
        bank.people[key] = person

        answers = gss_answers(sex=2 if n % 2 else 1, age=30 + 7 * n, race=1 + n % 3, polviews=1 + n % 7,
                              partyid=n % 7, degree=n % 5, natspac=1 + n % 3, relig=1 + n % 4)
        for wave, visit in visits.items():
            order = 0
            for item_id, value in answers.items():
                if wave == 2 and item_id == "natspac":
                    value = 1 + (value % 3)  # one GSS answer changes at retest
                session.add(m.Response(visit_id=visit.id, wave=wave, instrument="gss_core", item_id=item_id,
                                       value_number=float(value), presentation_order=order, protocol_hash=HASH))
                order += 1
            for i in range(1, 45):
                session.add(m.Response(visit_id=visit.id, wave=wave, instrument="bfi44", item_id=f"bfi{i:02d}",
                                       value_number=float(1 + (i + n + wave) % 5), presentation_order=order,
                                       protocol_hash=HASH))
                order += 1
            decisions = {"game1_DG": {"amount": 2}, "game2_TF1": {"amount": 1},
                         "game3_TF2": {"amounts": {"received_3": 1, "received_6": 2, "received_9": 3}},
                         "game4_PG": {"amount": 4}, "game5_PD": {"choice": 1 + n % 2}}
            for index, (game_id, decision) in enumerate(decisions.items()):
                session.add(m.GameDecision(visit_id=visit.id, game_id=game_id, role="player", decision=decision,
                                           presentation_order=index, protocol_hash=HASH))
        if key == "both":  # not married: hapmar does not apply (IAP); natenvir left blank (declined, NA)
            session.add(m.Response(visit_id=visits[1].id, wave=1, instrument="gss_core", item_id="hapmar",
                                   value_number=-100.0, missing="IAP", presentation_order=900, protocol_hash=HASH))
            session.add(m.Response(visit_id=visits[1].id, wave=1, instrument="gss_core", item_id="natenvir",
                                   value_number=None, missing="NA", presentation_order=901, protocol_hash=HASH))
        session.add(m.Response(visit_id=visits[1].id, wave=1, instrument="self_description",
                               item_id="self_description", value_number=None,
                               value_text="I am Margaret, a nurse from Springfield. Text me at 555-123-4567.",
                               presentation_order=999, protocol_hash=HASH))
        session.add(m.ExperimentAssignment(participant_id=participant.id, experiment_id="ames_fiske_2015", wave=1,
                                           condition_id="intentional", block_index=0, block_position=n))

        interview = m.Interview(visit=visits[1], guide_id="avp", protocol_version="1.0.0", protocol_hash=HASH,
                                status="completed", started_at=AT)
        session.add(interview)
        if key == "offline":
            script = long_script(guide)
            session.add_all(_turns(interview, script))
            segments = [{"speaker": speaker, "start": 10.0 * seq + 0.5, "end": 10.0 * seq + 8, "text": text}
                        for seq, (speaker, _, text) in enumerate(script)]
            segments[1]["text"] = ("I'm Priya Ramanathan. I grew up in Lakewood and my number was "
                                   "(614) 555-0172.")
            session.add(m.Transcript(interview=interview, source="offline", model="tiny.en", model_version="1",
                                     settings={}, settings_hash=HASH, segments=segments,
                                     text=" ".join(s["text"] for s in segments)))
        else:
            session.add_all(_turns(interview, PII_INTERVIEW))
    session.flush()
    return bank
