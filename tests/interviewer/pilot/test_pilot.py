"""Simulated pilots: personas from the quotas, whole interviews on a simulated clock, the report."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from interviewer.conductor import Reply, Utterance
from interviewer.conductor.budget import word_count
from interviewer.pilot import draw_personas, run_pilot
from interviewer.pilot.clock import PARTICIPANT_SECONDS_PER_WORD
from interviewer.pilot.participant import KEEP_GOING, SimulatedParticipant
from interviewer.pilot.personas import TALKATIVENESS
from protocols import load_study
from storage.models import Interview, Turn

REPORT_FIELDS = {"questions_total", "questions_asked", "followups", "followups_per_question", "simulated_seconds",
                 "budget_seconds", "participant_words", "llm_latency_p50_ms", "llm_latency_p95_ms", "fallbacks",
                 "max_prompt_chars", "grounded_rate", "generic_rate", "redundant_rate", "off_topic_rate", "safety",
                 "followup_choices"}


def test_personas_are_drawn_from_every_quota_stratum_in_proportion() -> None:
    study = load_study()
    personas = draw_personas(study, 600, seed=3)
    strata = study.spec.quotas.strata
    assert all(set(p.cells) == {s.id for s in strata} for p in personas)
    gender = Counter(p.cells["gender"] for p in personas)
    assert abs(gender["female"] / 600 - 0.5637) < 0.06
    assert Counter(p.talkativeness for p in personas) == dict.fromkeys(TALKATIVENESS, 200)
    assert draw_personas(study, 5, seed=3) == personas[:5]  # reproducible
    assert all(p.truth["has_children"] == "no" for p in personas if p.age >= 58)


def test_a_simulated_participant_speaks_in_its_persona_and_wants_to_go_on(llm, stand_in) -> None:
    persona = draw_personas(load_study(), 1, seed=1)[0]
    stand_in.on_text = lambda call: " I grew up near Tulsa, on my grandmother's farm, and I loved it there."
    participant = SimulatedParticipant(persona, llm)
    question = Reply((Utterance("Where did you grow up?", "scripted", "q", 0.0, 1.6),), done=False)
    answer = participant.answer(question)
    assert answer.startswith("I grew up near Tulsa")
    assert persona.describe() in stand_in.calls[0].prompt
    assert stand_in.calls[0].prompt.endswith("Isabella: Where did you grow up?\nParticipant:")
    stop_confirm = load_study().interview_guides["short"].data.safety.stop_confirm
    check = Reply((Utterance(stop_confirm, "transition", "q", 2.0, 5.0),), done=False)
    assert participant.answer(check) == KEEP_GOING


def test_a_simulated_participant_draws_again_rather_than_repeat_an_earlier_answer(llm, stand_in) -> None:
    first = "I grew up near Tulsa on my grandmother's farm, with chickens and two old horses."
    # near the length drawn for it (a much shorter answer is drawn again too)
    second = ("My first job was stacking hay for a neighbour, five dollars a day. It was hot and itchy work, but "
              "I saved every dollar of it that summer and bought myself a used bicycle.")
    fresh = iter([first, first, second])
    # a new answer gets the next line of `fresh`; a continuation of one gets nothing more
    stand_in.on_text = lambda call: f" {next(fresh)}" if call.prompt.endswith("Participant:") else ""
    participant = SimulatedParticipant(draw_personas(load_study(), 1, seed=1)[0], llm)
    asked = [Reply((Utterance(text, "scripted", "q", 0.0, 2.0),), done=False)
             for text in ("Where did you grow up?", "What was your first job?")]
    assert [participant.answer(reply) for reply in asked] == [first, second]
    assert participant.redrawn == 1


def test_a_pilot_interviews_each_persona_through_the_whole_guide(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_text = lambda call: " We moved a lot when I was young, and I worked at the mill for twenty years."
    report = run_pilot(llm=llm, session_factory=factory, study=load_study(), guide_file=short_guide, personas=2,
                       progress=False)
    assert REPORT_FIELDS <= report.keys()
    assert report["interviews"] == 2 and report["questions_total"] == 10
    assert report["questions_asked"] == 10 and report["applicable_not_asked"] == 0
    assert report["budget_seconds"] == 330
    assert 0.3 < report["duration_ratio"] <= 1.05  # short answers leave time unspent; none overruns
    assert report["followups_per_question"] == round(report["followups"] / 10, 3)
    assert report["fallbacks"] == 0 and report["llm_latency_p50_ms"] is not None
    # the two personas' scripted moments (distress and refusal; injection and stop), each counted once
    outcomes = {signal: sum(counts.values()) for signal, counts in report["safety"].items()}
    assert outcomes == {"severe": 0, "distress": 1, "refusal": 1, "injection": 1, "stop": 1}
    said = [m["text"] for p in draw_personas(load_study(), 2) for m in p.moments]
    with factory() as session:
        interviews = list(session.scalars(select(Interview)))
        assert [(i.mode, i.visit_id) for i in interviews] == [("pilot", None)] * 2
        assert interviews[0].status == "completed"
        # the stop comes at the last question: stopped there if the interviewer heard it, else completed
        assert interviews[1].status == ("stopped" if report["safety"]["stop"]["handled"] else "completed")
        spoken = [t.text for t in session.scalars(select(Turn).where(Turn.speaker == "participant"))]
        assert all(text in spoken for text in said)  # scripted moments are said verbatim
        assert interviews[0].checkpoint["meta"]["persona"]["talkativeness"] == "average"
        answers = list(session.scalars(select(Turn).where(Turn.speaker == "participant")))
    # the simulated clock: each answer takes its words at Park et al.'s participants' pace
    assert all(round(a.end_s - a.start_s, 3) == round(word_count(a.text) * PARTICIPANT_SECONDS_PER_WORD, 3)
               for a in answers)


def test_a_simulated_answer_cut_off_mid_sentence_ends_on_its_last_whole_sentence(llm, stand_in) -> None:
    whole = "I grew up near Tulsa on my grandmother's farm, with chickens and two old horses."
    stand_in.on_text = lambda call: f" {whole} My mother worked as a" if call.prompt.endswith("Participant:") else ""
    participant = SimulatedParticipant(draw_personas(load_study(), 1, seed=1)[0], llm)
    assert participant.answer(Reply((Utterance("Where did you grow up?", "scripted", "q", 0.0, 2.0),),
                                    done=False)) == whole

