"""Every table stores and returns exactly what was written, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import models as m

AT = datetime(2026, 3, 1, 14, 30, 5, 123000, tzinfo=UTC)
HASH = "a" * 64


def build_study_graph(session: Session) -> dict[type, object]:
    """One row of every model, linked the way a real study links them."""
    study = m.Study(slug="park2024", title="Park et al. 2024", protocol_version="1.0.0",
                    protocol_hash=HASH, created_at=AT)
    participant = m.Participant(study=study, prolific_pid="5f3c2b1a9d8e7f6a5b4c3d2e",
                                pseudonym_id="0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f",
                                status="active", strata={"age_band": "45_54", "gender": "female"},
                                created_at=AT)
    visit = m.Visit(participant=participant, wave=1, prolific_study_id="65a0f00d1234567890abcdef",
                    prolific_session_id="sess-1", status="started", current_step="gss_core", position=3,
                    plan={"games": ["game5_PD", "game1_DG"]}, started_at=AT)
    consent = m.Consent(participant=participant, document_version="1", text="I agree.",
                        text_hash=HASH, scopes=["participate", "audio_recording"], signed_at=AT)
    interview = m.Interview(visit=visit, mode="voice", guide_id="avp", protocol_version="1.0.0",
                            protocol_hash=HASH, status="in_progress",
                            checkpoint={"question_index": 3, "notes": {"has_children": "no"}},
                            started_at=AT, qa_flags=[{"flag": "few_words"}], llm_model="gemma-3-270m",
                            llm_endpoint="embedded", prompt_version="prompts-0123456789ab",
                            safety_classifier_version="safety-1.0123456789ab", created_at=AT)
    turn = m.Turn(interview=interview, seq=0, speaker="interviewer", kind="scripted",
                  question_id="life_story_overview", text="Tell me the story of your life.",
                  start_s=0.0, end_s=6.25, llm_latency_ms=812.5, response_latency_ms=None,
                  protocol_hash=HASH, created_at=AT)
    recording = m.Recording(interview=interview, channel="participant", sample_rate=16000,
                            status="recording", duration_s=12.5, sha256=None, created_at=AT)
    chunk = m.RecordingChunk(recording=recording, index=0, start_s=0.0, duration_s=5.0,
                             blob_sha256=HASH, created_at=AT)
    transcript = m.Transcript(interview=interview, source="offline", model="tiny.en",
                              model_version="1.2.1", settings={"beam_size": 5}, settings_hash=HASH,
                              segments=[{"speaker": "participant", "start": 0.5, "text": "Hi"}],
                              text="Hi", participant_words=1, wer_vs_live=0.125, created_at=AT)
    safety_event = m.SafetyEvent(interview=interview, turn_seq=2, question_id="life_story_overview",
                                 signal="distress", score=0.8125, source="classifier", created_at=AT,
                                 reviewed_at=AT + timedelta(hours=3), reviewed_by="staff:lead@example.org",
                                 review_note="Called back; fine.")
    session.add_all([study, participant, visit, consent, interview, turn, recording, chunk, transcript, safety_event])
    session.flush()
    response = m.Response(visit_id=visit.id, wave=1, instrument="gss_core", item_id="natspac",
                          value_number=2.0, value_text=None, presentation_order=1, shown_at=AT,
                          answered_at=AT + timedelta(seconds=4), response_ms=4000, protocol_hash=HASH)
    assignment = m.ExperimentAssignment(participant_id=participant.id, experiment_id="ames_fiske_2015",
                                        wave=1, condition_id="intentional", block_index=0,
                                        block_position=2, assigned_at=AT)
    decision = m.GameDecision(visit_id=visit.id, game_id="game1_DG", role="dictator",
                              decision={"amount": 2}, presentation_order=2, decided_at=AT,
                              protocol_hash=HASH)
    session.add_all([response, assignment, decision])
    session.flush()
    outcome = m.GameOutcome(decision_id=decision.id, partner_decision_ids=[7], payoff_cents=300,
                            computed_at=AT)
    bonus = m.Bonus(participant_id=participant.id, wave=1, amount_cents=300, game_id="game1_DG",
                    computation={"kept": 3}, status="computed", idempotency_key="bonus:1:1",
                    created_at=AT)
    action = m.ScheduledAction(participant_id=participant.id, kind="wave2_invitation",
                               due_at=AT + timedelta(days=14), status="pending", attempts=0,
                               idempotency_key="wave2_invitation:1", payload={"wave": 2}, created_at=AT)
    staff = m.StaffUser(email="lead@example.org", password_hash="argon2$x", role="admin", active=True,
                        created_at=AT)
    event = m.AuditEvent(at=AT, actor="staff:lead@example.org", action="transcript.read",
                         target="interview:1", details={"reason": "QA"})
    export = m.Export(actor="staff:lead@example.org", tier="restricted", out_path="/tmp/bank",
                      manifest_sha256=HASH, participant_count=1, created_at=AT)
    replacement = m.PiiReplacement(participant_id=participant.id, entity_type="PERSON", original_key=HASH,
                                   original="Margaret", replacement="Linda", created_at=AT)
    quota = m.QuotaCell(study_id=study.id, stratum="age_band", cell="45_54", capacity=258, filled=1,
                        updated_at=AT)
    block = m.AssignmentBlock(study_id=study.id, experiment_id="ames_fiske_2015", block_index=0,
                              sequence=["intentional", "unintentional", "unintentional", "intentional"],
                              filled=3, created_at=AT)
    page = m.PageView(visit_id=visit.id, position=3, page_key="gss_core:0", first_shown_at=AT,
                      last_shown_at=AT, views=2, submitted_at=AT + timedelta(seconds=40),
                      duration_ms=40000, item_count=10, signals={"speeding": False})
    session.add_all([outcome, bonus, action, staff, event, export, replacement, quota, block, page])
    session.flush()
    staff_session = m.StaffSession(token_sha256=HASH, staff_user_id=staff.id, csrf_token="c" * 43, created_at=AT,
                                   last_seen_at=AT, expires_at=AT + timedelta(hours=12))
    api_token = m.StaffApiToken(token_sha256=HASH, staff_user_id=staff.id, name="weekly report", created_at=AT)
    failure = m.StaffSigninFailure(client="203.0.113.7", email="lead@example.org", at=AT)
    included = m.ExportParticipant(export_id=export.id, participant_id=participant.id)
    session.add_all([staff_session, api_token, failure, included])
    session.flush()
    rows = [study, participant, visit, consent, interview, turn, recording, chunk, transcript, safety_event,
            response, assignment, decision, outcome, bonus, action, staff, event, export, replacement,
            quota, block, page, staff_session, api_token, failure, included]
    return {type(row): row for row in rows}


def column_values(row: object) -> dict[str, object]:
    mapper = inspect(type(row))
    return {column.key: getattr(row, column.key) for column in mapper.column_attrs}


ALL_MODELS = [mapper.class_ for mapper in m.Base.registry.mappers]


def test_the_round_trip_graph_covers_every_table(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert set(build_study_graph(session)) == set(ALL_MODELS)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_model_round_trips(model: type, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        written = column_values(build_study_graph(session)[model])

    with session_factory() as session:
        stored = session.scalars(select(model)).one()
        assert column_values(stored) == written


def test_timestamps_come_back_in_utc(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        build_study_graph(session)
    with session_factory() as session:
        turn = session.scalars(select(m.Turn)).one()
        assert turn.created_at.tzinfo is UTC
        assert turn.created_at == AT


def test_naive_timestamps_are_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.add(m.StaffUser(email="x@example.org", password_hash="h", role="staff",
                                created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime given"):
            session.commit()


def test_a_prolific_id_is_one_participant_per_study(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        build_study_graph(session)
    with session_factory() as session:
        study = session.scalars(select(m.Study)).one()
        session.add(m.Participant(study_id=study.id, prolific_pid="5f3c2b1a9d8e7f6a5b4c3d2e",
                                  pseudonym_id="another"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_foreign_keys_are_enforced(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.add(m.Visit(participant_id=999, wave=1))
        with pytest.raises(IntegrityError):
            session.commit()


def test_an_answer_is_stored_once_per_visit_and_item(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        graph = build_study_graph(session)
        visit_id = graph[m.Visit].id  # type: ignore[attr-defined]
    with session_factory() as session:
        session.add(m.Response(visit_id=visit_id, wave=1, instrument="gss_core", item_id="natspac",
                               value_number=1.0, presentation_order=1, protocol_hash=HASH))
        with pytest.raises(IntegrityError):
            session.commit()
