"""The pilot report, computed from what the database holds about the pilot's interviews.

Counts (questions, follow-ups, fallbacks) are totals over the pilot's interviews; seconds and
words are means per interview; latencies are percentiles over every interviewer turn that
waited for the LLM; ``max_prompt_chars`` is the largest prompt any call sent, and
``max_prompt_chars_by_quarter`` the largest in each quarter of the guide (flat when bounded).

Listening (`listening`): ``grounded_rate``, ``generic_rate``, ``redundant_rate`` and
``off_topic_rate`` over all the pilot's follow-ups; ``safety`` counts, per signal, the personas'
scripted moments handled, missed and not reached; ``unprompted_signals`` the safety responses to
answers that were not scripted moments (false signals, by type and source, out of ``answers``);
``llm_signals_ignored`` the LLM's signals the options do not act on; ``followup_choices`` sums how the conductor
chose its follow-ups (anchor kinds, rejected candidates by reason).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor.budget import word_count
from interviewer.language.sentences import SentenceEncoder, shared_encoder
from interviewer.pilot.listening import Listening, rates, safety_counts, safety_moments, unprompted_signals
from protocols import InterviewGuide
from storage.models import Interview, Turn

PARK_FOLLOWUPS_PER_QUESTION = round(81.71 / 109, 2)
"""Park et al. 2024: 81.71 follow-up questions per interview over the 109 timed questions."""


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 1)


def interview_report(session: Session, guide: InterviewGuide, interview_id: int,
                     listening: Listening | None = None) -> dict[str, Any]:
    """One interview's numbers."""
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise KeyError(interview_id)
    turns = list(session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq)))
    checkpoint = interview.checkpoint or {}
    questions = guide.questions()
    asked = {t.question_id for t in turns if t.speaker == "interviewer" and t.kind == "scripted" and t.question_id}
    persona = (checkpoint.get("meta") or {}).get("persona", {})
    truth = persona.get("truth")
    if truth is not None:
        applicable = [q.id for q in questions
                      if q.condition is None or truth.get(q.condition.note) not in q.condition.skip_when]
    else:
        skipped = set(checkpoint.get("skipped", []))
        applicable = [q.id for q in questions if q.id not in skipped]
    simulated = max((t.end_s for t in turns), default=0.0)
    by_question: dict[str, int] = checkpoint.get("prompt_chars_by_question", {})
    quarter = max(1, math.ceil(len(questions) / 4))
    quarters = [max((by_question.get(q.id, 0) for q in questions[i:i + quarter]), default=0)
                for i in range(0, len(questions), quarter)]
    return {
        "interview_id": interview_id,
        "status": interview.status,
        "talkativeness": (checkpoint.get("meta") or {}).get("persona", {}).get("talkativeness"),
        "questions_total": len(questions),
        "questions_applicable": len(applicable),
        "questions_asked": len(asked),
        "applicable_not_asked": [q for q in applicable if q not in asked],
        "asked_not_applicable": sorted(asked - set(applicable)),
        "questions_skipped": len(checkpoint.get("skipped", [])),
        "followups": sum(1 for t in turns if t.kind == "followup"),
        "simulated_seconds": round(simulated, 1),
        "budget_seconds": guide.total_seconds,
        "participant_words": sum(word_count(t.text) for t in turns if t.speaker == "participant"),
        "interviewer_words": sum(word_count(t.text) for t in turns if t.speaker == "interviewer"),
        "llm_latencies_ms": [t.llm_latency_ms for t in turns if t.llm_latency_ms is not None],
        "fallbacks": int(checkpoint.get("fallbacks", 0)),
        "fallback_reasons": checkpoint.get("fallback_reasons", {}),
        "rejected_follow_ups": sum(checkpoint.get("rejected_follow_ups", {}).values()),
        "rejected_follow_up_reasons": checkpoint.get("rejected_follow_ups", {}),
        "generic_probes": int(checkpoint.get("probe_index", 0)),
        "max_prompt_chars": int(checkpoint.get("max_prompt_chars", 0)),
        "max_prompt_chars_by_quarter": quarters,
        "followup_choices": checkpoint.get("followup_choices", {}),
        "followup_verdicts": (listening or Listening(guide, shared_encoder())).judge(turns),
        "safety_moments": safety_moments(turns, checkpoint.get("events", []), persona.get("moments", [])),
        "unprompted_signals": unprompted_signals(turns, checkpoint.get("events", []), persona.get("moments", [])),
        "llm_signals_ignored": checkpoint.get("llm_signals_ignored", {}),
        "note_checks": note_checks(checkpoint.get("events", [])),
        "answers": sum(1 for t in turns if t.speaker == "participant"),
    }


def note_checks(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The condition-note values the reflection offered with a quote about the note: ``kept`` when the
    LLM read the quote as that value in every order, ``refused`` otherwise (`Conductor._evidence_supports`)."""
    checks = [event for event in events if event.get("type") == "note_check"]
    kept = sum(1 for event in checks if event.get("confirmed"))
    return {"kept": kept, "refused": len(checks) - kept}


def pilot_report(session_factory: sessionmaker[Session], guide: InterviewGuide,
                 interview_ids: Sequence[int], encoder: SentenceEncoder | None = None) -> dict[str, Any]:
    """The whole pilot's report (see the module docstring for how numbers combine)."""
    listening = Listening(guide, encoder or shared_encoder())
    with session_factory() as session:
        each = [interview_report(session, guide, interview_id, listening) for interview_id in interview_ids]
    verdicts = [verdict for one in each for verdict in one["followup_verdicts"]]
    choices: dict[str, int] = {}
    unprompted: dict[str, int] = {}
    ignored: dict[str, int] = {}
    checks: dict[str, int] = {"kept": 0, "refused": 0}
    for one in each:
        for totals, counts in ((choices, one["followup_choices"]), (unprompted, one["unprompted_signals"]),
                               (ignored, one["llm_signals_ignored"]), (checks, one["note_checks"])):
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    count = max(1, len(each))
    latencies = [value for one in each for value in one.pop("llm_latencies_ms")]
    asked = sum(one["questions_asked"] for one in each)
    followups = sum(one["followups"] for one in each)
    simulated = sum(one["simulated_seconds"] for one in each) / count
    quarters = [max(values) for values in zip(*(one["max_prompt_chars_by_quarter"] for one in each), strict=True)] \
        if each else []
    return {
        "guide": guide.id,
        "interviews": len(each),
        "questions_total": sum(one["questions_total"] for one in each),
        "questions_applicable": sum(one["questions_applicable"] for one in each),
        "questions_asked": asked,
        "questions_skipped": sum(one["questions_skipped"] for one in each),
        "applicable_not_asked": sum(len(one["applicable_not_asked"]) for one in each),
        "followups": followups,
        "followups_per_question": round(followups / asked, 3) if asked else 0.0,
        "park_followups_per_question": PARK_FOLLOWUPS_PER_QUESTION,
        "simulated_seconds": round(simulated, 1),
        "budget_seconds": guide.total_seconds,
        "duration_ratio": round(simulated / guide.total_seconds, 4) if guide.total_seconds else 0.0,
        "participant_words": round(sum(one["participant_words"] for one in each) / count),
        "interviewer_words": round(sum(one["interviewer_words"] for one in each) / count),
        "llm_latency_p50_ms": percentile(latencies, 0.5),
        "llm_latency_p95_ms": percentile(latencies, 0.95),
        "fallbacks": sum(one["fallbacks"] for one in each),
        "rejected_follow_ups": sum(one["rejected_follow_ups"] for one in each),
        "generic_probes": sum(one["generic_probes"] for one in each),
        "max_prompt_chars": max((one["max_prompt_chars"] for one in each), default=0),
        "max_prompt_chars_by_quarter": quarters,
        **rates(verdicts),
        "safety": safety_counts([moment for one in each for moment in one["safety_moments"]]),
        "answers": sum(one["answers"] for one in each),
        "unprompted_signals": dict(sorted(unprompted.items())),
        "llm_signals_ignored": dict(sorted(ignored.items())),
        "note_checks": checks,
        "followup_choices": dict(sorted(choices.items())),
        "per_interview": each,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned lines for the terminal."""
    shown = {key: value for key, value in report.items() if key != "per_interview"}
    width = max(len(key) for key in shown)
    return "\n".join(f"{key:{width}}  {value}" for key, value in shown.items())
