"""The simulated-participant pilot, measured against the guide and against Park et al.

    python -m bench.pilot [--personas 1] [--guide avp] [--seed 0] [--keep-db FILE]
    python -m bench.pilot --guide avp --report-db FILE     # report a kept pilot again, no LLM

``--report-db`` reads the pilot interviews of a database kept with ``--keep-db`` (a run stopped
part-way, say) and reports those that ended; interviews still open are counted apart
(``unfinished_interviews``) and left out of every figure.

Simulated participants (personas from the study's quotas) are interviewed through the whole guide
on a simulated clock, in a scratch SQLite database, with the LLM the settings name (the embedded
Gemma 3 270M when ``VOXBANK_LLM_BASE_URL`` is unset). Printed side by side:

* coverage: applicable questions asked / applicable questions (by the personas' own facts);
* ``duration_ratio``: simulated seconds / the guide's budget (target: within 5 % of 1);
* follow-ups per scripted question, ours next to Park et al.'s 81.71 over 109 (0.75);
* listening (`interviewer.pilot.listening`): ``grounded_rate``, ``generic_rate``, ``redundant_rate``
  and ``off_topic_rate`` of the follow-ups, and the personas' scripted safety moments handled,
  missed and not reached, per signal.

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from interviewer.conductor import guide_file
from interviewer.pilot import PARK_FOLLOWUPS_PER_QUESTION, pilot_report, run_pilot
from protocols import InterviewGuide, load_study
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import Interview
from storage.states import InterviewStatus
from voxbank.settings import get_settings
from voxbank.wiring import conductor_options, llm_endpoint

DURATION_TOLERANCE = 0.05
ENDED = frozenset({InterviewStatus.COMPLETED, InterviewStatus.STOPPED})
"""A pilot interview that reached its end: the guide's, or a persona's confirmed request to stop."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=1, help="simulated participants")
    parser.add_argument("--guide", default="avp", help="interview guide id (avp or short)")
    parser.add_argument("--seed", type=int, default=0, help="which personas are drawn")
    parser.add_argument("--skip", type=int, default=0,
                        help="leave out the first SKIP of the drawn personas (run the rest in another process)")
    parser.add_argument("--keep-db", type=Path, default=None,
                        help="write the pilot's interviews to this SQLite file (kept) instead of a scratch one")
    parser.add_argument("--report-db", type=Path, default=None,
                        help="report the ended pilot interviews kept in this SQLite file; runs nothing")
    parser.add_argument("--with-unfinished", action="store_true",
                        help="with --report-db: report interviews still in progress too (a pilot cut short); "
                             "their coverage and duration are partial")
    args = parser.parse_args()

    settings = get_settings()
    study = load_study(settings.study_dir) if settings.study_dir else load_study()
    chosen = guide_file(args.guide, settings.study_dir)
    unfinished: list[int] = []
    if args.report_db is not None:
        report, unfinished = report_kept(args.report_db, chosen.data, with_unfinished=args.with_unfinished)
        wall_s = 0.0
    else:
        with tempfile.TemporaryDirectory(prefix="voxbank-bench-pilot-") as scratch:
            url = f"sqlite:///{args.keep_db or Path(scratch) / 'pilot.db'}"
            migrate.upgrade(url)
            engine = make_engine(url)
            started = time.perf_counter()
            with llm_endpoint(settings) as llm:
                report = run_pilot(llm=llm, session_factory=make_session_factory(engine), study=study,
                                   guide_file=chosen, personas=args.personas, seed=args.seed, skip=args.skip,
                                   options=conductor_options(settings))
            wall_s = time.perf_counter() - started
            engine.dispose()

    applicable = report["questions_applicable"]
    asked_applicable = applicable - report["applicable_not_asked"]
    ratio = report["duration_ratio"]
    print(f"guide {chosen.id}: {report['interviews']} simulated interview(s), llm {settings.llm_model} "
          f"({'embedded' if settings.llm_base_url is None else settings.llm_base_url}), {wall_s:.0f} s wall")
    print(f"coverage           {asked_applicable}/{applicable} applicable questions asked "
          f"({report['questions_skipped']} skipped by the notes)")
    print(f"duration_ratio     {ratio:.3f}  ({report['simulated_seconds']:.0f} s simulated / "
          f"{report['budget_seconds']} s budget; target within {DURATION_TOLERANCE:.0%})")
    print(f"follow-ups/question {report['followups_per_question']:.2f} ours  vs  {PARK_FOLLOWUPS_PER_QUESTION:.2f} "
          f"Park et al. 2024 (81.71 over 109)")
    print(f"llm latency        p50 {report['llm_latency_p50_ms']} ms, p95 {report['llm_latency_p95_ms']} ms; "
          f"fallbacks {report['fallbacks']}; max prompt {report['max_prompt_chars']} chars "
          f"(by quarter {report['max_prompt_chars_by_quarter']})")
    print(f"listening          grounded {report['grounded_rate']}, generic {report['generic_rate']}, "
          f"redundant {report['redundant_rate']}, off-topic {report['off_topic_rate']} (shares of follow-ups)")
    print("safety moments     " + "; ".join(f"{signal} {counts['handled']} handled, {counts['missed']} missed, "
                                             f"{counts['not_reached']} not reached"
                                             for signal, counts in report["safety"].items()))
    print(f"unprompted signals {report['unprompted_signals']} in {report['answers']} answers (safety responses to "
          f"answers that were not scripted moments: false signals, or distress the simulated participant voiced "
          f"unscripted); LLM signals not acted on {report['llm_signals_ignored']}")
    print(f"condition notes    {report['note_checks']['kept']} value(s) kept, {report['note_checks']['refused']} "
          f"refused by the value check (kept: the LLM, shown only the quote, named it in every order)")
    summary = {key: value for key, value in report.items() if key != "per_interview"}
    summary.update({"coverage": round(asked_applicable / applicable, 4) if applicable else 0.0,
                    "duration_within_tolerance": abs(ratio - 1) <= DURATION_TOLERANCE,
                    "unfinished_interviews": unfinished,
                    "wall_seconds": round(wall_s, 1), "machine": platform.machine(),
                    "python": platform.python_version()})
    print(json.dumps(summary))


def report_kept(path: Path, guide: InterviewGuide, *,
                with_unfinished: bool = False) -> tuple[dict[str, Any], list[int]]:
    """The report of the ended pilot interviews of ``guide`` kept in the SQLite file at ``path`` (and of
    those still in progress, ``with_unfinished``), and the ids of those that did not end."""
    if not path.is_file():
        raise SystemExit(f"--report-db {path}: no such file; give the file a pilot wrote with --keep-db")
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with factory() as session:
        kept = session.execute(select(Interview.id, Interview.status)
                               .where(Interview.mode == "pilot", Interview.guide_id == guide.id)
                               .order_by(Interview.id)).all()
    ended = [row.id for row in kept if row.status in ENDED or with_unfinished]
    if not ended:
        raise SystemExit(f"--report-db {path}: no ended pilot interview of guide {guide.id} in it")
    report = pilot_report(factory, guide, ended)
    engine.dispose()
    return report, [row.id for row in kept if row.status not in ENDED]


if __name__ == "__main__":
    main()
