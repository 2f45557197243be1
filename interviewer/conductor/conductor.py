"""The conductor: a semi-structured interview, one participant turn at a time, independent of audio.

    conductor = Conductor.start(guide_file, llm, session_factory, mode="text")
    reply = conductor.open()                 # the intro and the first question, verbatim
    while not reply.done:
        reply = conductor.respond(answer_text, answer_seconds)

Each question opens with its text verbatim; scripted questions are never generated. After each
answer, in this order:

1. the safety classifier (`interviewer.language.safety_classifier`, by meaning, on the CPU, on every
   answer): self-harm gets crisis help and an offer to stop; distress an acknowledgement and the
   offer of a pause, a skip or a stop (never a probe); a stop request is confirmed once, then the
   interview ends kindly; a refusal is acknowledged and the question left; an attempt to instruct
   the interviewer is steered back to the current question, asked again (once: a second one under the
   same question moves on). The words are the guide's
   fixed ``safety`` lines, and distress and self-harm flag the interview for staff review;
2. the time budget (`budget`): when the question's time is up, move on;
3. the reflection notes (`memory`), refreshed every ~2,500 characters of new conversation and
   before a conditional question whose note is still unknown;
4. the LLM's decision (`decisions`): follow up or move on, plus the same safety signals. The LLM
   may add a signal the classifier missed (handled as above); it never overrules one, since a
   heard signal is acted on before the LLM is asked. A malformed, empty or slow reply is a
   *fallback*: counted, logged, and read as "move on" with no follow-up of its own, so pacing and
   the grounded follow-ups (steps 5 and 6) still decide. A follow-up that fails
   validation is never said: it is counted (``rejected_follow_ups``), and the decision becomes
   "move on";
5. pacing (`budget.Pace.may_move_on`): far ahead of schedule, a "move on" becomes a follow-up;
6. the follow-up itself (`followups`, when the guide has a ``followups`` block): grounded in what
   the participant said under this question (the guide's templates filled with the answer's events, situations,
   feelings, people, places and things; the LLM's own question competes if it refers to the answer), checked
   (no repeat, no restated question, nothing the participant said anywhere in the interview or the
   notes hold, nothing off the objective) and ranked. With nothing to ground on, a generic probe from
   the guide, at most the guide's ``generic_per_question`` of them; when the time allows moving on,
   it moves on instead. A question gets at most the guide's ``max_per_question`` follow-ups, whatever
   time it has left (none when allotted under ``min_question_seconds``): its unused time goes to the
   questions after it. With
   `ConductorOptions.follow_up_choice_orders` ≥ 2 the LLM may choose among the best few, and its pick
   counts only if the same in every order.

Every turn and the checkpoint are committed as they happen (`persistence`); `resume` goes on from
the checkpoint. Log messages are static; transcript text appears only under ``extra["personal"]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from interviewer import metrics
from interviewer.conductor import budget, safety
from interviewer.conductor.decisions import DECISION_SCHEMA, Decision, DecisionRejected, parse_decision
from interviewer.conductor.followups import (
    GENERIC,
    Choice,
    Context,
    FollowUps,
    objective_text,
    sentences,
    stable_choice,
)
from interviewer.conductor.memory import (
    INTERVIEWER,
    PARTICIPANT,
    REFLECT_EVERY_CHARS,
    UNKNOWN,
    Line,
    Notes,
    Window,
    apply_reflection,
    condition_notes,
    reflection_schema,
    render_line,
)
from interviewer.conductor.options import ConductorOptions
from interviewer.conductor.persistence import SafetyFlag, Store, TurnRecord
from interviewer.conductor.prompts import (
    EXAMPLE_FACT_VALUES,
    EXAMPLE_FOLLOW_UPS,
    check_prompt,
    choice_prompt,
    choice_schema,
    decision_prompt,
    reflection_prompt,
)
from interviewer.conductor.provenance import provenance
from interviewer.conductor.state import ANSWERING, DECIDING, ENDED, State
from interviewer.language.safety_classifier import HEARD_BY_LLM, SafetyClassifier, Verdict
from interviewer.language.sentences import shared_encoder
from interviewer.llm.client import LLMError
from protocols import InterviewGuide, LoadedFile, Question

if TYPE_CHECKING:
    from interviewer.llm.client import LLMClient

log = logging.getLogger(__name__)

SCRIPTED, FOLLOWUP, TRANSITION, CLOSING = "scripted", "followup", "transition", "closing"
DECISION_MAX_TOKENS = 220
"""Enough for the longest reply the schema allows even at one token a character (the grammar
bounds every string), so a reply is never cut off mid-object."""
CHECK_HORIZON = 12
"""A reflection checks only the condition notes of the next few questions (fewer tokens to write)."""
EVIDENCE_SIMILARITY = 0.12
"""How near (cosine, all-MiniLM-L6-v2) a reflection's quote must be to a condition note's description for
the value it supports to be kept. A floor for quotes about something else, not a test of the value:
against the avp guide's lives-alone, employed and children notes, quotes that bear on them scored 0.14
("I'm retired now") to 0.43 ("I live alone in a small apartment"), unrelated ones -0.02 ("I've been
saving up for a car") to 0.18 ("I work nights as a nurse", on living alone). A quote that says the
opposite ("My wife and I live together", 0.39) passes: the value itself is the reflection's to judge."""
_LLM_SIGNALS = {"declines": "refusal", "distress": "distress", "wants_to_stop": "stop"}
"""The decision schema's signal names, as the safety classifier names them."""
_FLAGGED = ("severe", "distress")
"""Signals that flag the interview for staff review."""
NO_DECISION = Decision(action="move_on", signal="none", follow_up=None)
"""What a fallback (no usable LLM reply) counts as: pacing and the grounded follow-ups decide."""


class ConductorError(RuntimeError):
    """The conductor was asked something it cannot do in its current phase."""


@dataclass(frozen=True)
class Utterance:
    """One interviewer turn: what to say, its kind, its question, and its place on the timeline."""

    text: str
    kind: str
    question_id: str | None
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Reply:
    """What the interviewer says next: one or two utterances (a transition may lead in)."""

    utterances: tuple[Utterance, ...]
    done: bool
    resumed: bool = False

    @property
    def text(self) -> str:
        """Everything to say, in order."""
        return " ".join(u.text for u in self.utterances)

    @property
    def kind(self) -> str:
        """The kind of the main (last) utterance: scripted, followup, transition or closing."""
        return self.utterances[-1].kind if self.utterances else CLOSING

    @property
    def question_id(self) -> str | None:
        """The question the main utterance belongs to."""
        return self.utterances[-1].question_id if self.utterances else None


class Conductor:
    """One interview's conductor. Create it with `start` or `resume`."""

    def __init__(self, *, guide_file: LoadedFile[InterviewGuide], llm: LLMClient, store: Store, interview_id: int,
                 state: State, window: Window, classifier: SafetyClassifier,
                 options: ConductorOptions | None = None, heard: Sequence[tuple[str | None, str]] = ()) -> None:
        self.options = options or ConductorOptions()
        self.guide_file = guide_file
        self.guide: InterviewGuide = guide_file.data
        self.protocol_hash = guide_file.effective_hash
        self.llm = llm
        self.store = store
        self.interview_id = interview_id
        self.state = state
        self.window = window
        # Every sentence the participant has said, with its question: what a follow-up must not ask
        # for again, beyond the recent window the LLM sees.
        self.heard: list[tuple[str | None, str]] = list(heard)
        self.questions: list[Question] = self.guide.questions()
        self.allotments = [float(q.seconds) for q in self.questions]
        self.conditions = condition_notes(self.guide)
        self.notes = Notes.for_guide(self.guide, state.notes)
        self._turns: list[TurnRecord] = []
        self._llm_ms = 0.0
        self._last_llm_text = ""
        self._ended_status: tuple[str, str] | None = None
        self.followups = FollowUps(self.guide.followups, shared_encoder(), exclude=[self.guide.interviewer_name])
        self.classifier = classifier
        self._flags: list[SafetyFlag] = []

    # ------------------------------------------------------------------ creation

    @classmethod
    def start(cls, guide_file: LoadedFile[InterviewGuide], llm: LLMClient, session_factory: sessionmaker[Session],
              *, mode: str = "text", visit_id: int | None = None,
              classifier: SafetyClassifier | None = None, options: ConductorOptions | None = None) -> Conductor:
        """Create a new interview (status ``in_progress``); call `open` for its first words.

        ``classifier`` defaults to the shipped safety classifier (its model loads on first use);
        ``options`` to `ConductorOptions`' defaults."""
        guide = guide_file.data
        classifier = classifier or SafetyClassifier.shipped()
        state = State()
        # The untimed intro and closing take their time out of the guide's total too.
        state.carry_s = -(budget.speaking_seconds(guide.intro.text) + budget.speaking_seconds(guide.closing.text))
        state.notes = Notes.for_guide(guide).as_dict()
        store = Store(session_factory)
        interview_id = store.create(guide_id=guide.id, protocol_version=guide_file.version,
                                    protocol_hash=guide_file.effective_hash, mode=mode, visit_id=visit_id,
                                    checkpoint={**state.to_checkpoint(), "phase": "new"},
                                    provenance=provenance(llm, classifier))
        state.phase = "new"
        return cls(guide_file=guide_file, llm=llm, store=store, interview_id=interview_id, state=state,
                   window=Window(guide.interviewer_name), classifier=classifier, options=options)

    @classmethod
    def resume(cls, interview_id: int, guide_file: LoadedFile[InterviewGuide], llm: LLMClient,
               session_factory: sessionmaker[Session], *, classifier: SafetyClassifier | None = None,
               options: ConductorOptions | None = None) -> Conductor:
        """Go on with a stored interview from its checkpoint; call `open` for what to say now."""
        store = Store(session_factory)
        head = store.load(interview_id, from_seq=None)
        if head.guide_id != guide_file.id or head.protocol_hash != guide_file.effective_hash:
            raise ConductorError(
                f"interview {interview_id} was started with guide {head.guide_id!r} ({head.protocol_hash[:12]}); "
                f"the guide given is {guide_file.id!r} ({guide_file.effective_hash[:12]}): resume it with the "
                f"guide version it started with")
        state = State.from_checkpoint(head.checkpoint)
        saved = store.load(interview_id, from_seq=0)
        window = Window(guide_file.data.interviewer_name, start_seq=state.window_start_seq,
                        lines=[Line(t.seq, t.speaker, t.text) for t in saved.turns if t.seq >= state.window_start_seq])
        heard = [(t.question_id, sentence) for t in saved.turns if t.speaker == PARTICIPANT
                 for sentence in sentences(t.text)]
        return cls(guide_file=guide_file, llm=llm, store=store, interview_id=interview_id, state=state,
                   window=window, classifier=classifier or SafetyClassifier.shipped(), options=options, heard=heard)

    # ------------------------------------------------------------------ the public steps

    @property
    def done(self) -> bool:
        """True once the interview has ended (completed or stopped)."""
        return self.state.phase == ENDED

    @property
    def current_question(self) -> Question | None:
        """The question being asked, or None before the first and after the last."""
        return self.questions[self.state.position] if self.state.position < len(self.questions) else None

    def open(self) -> Reply:
        """What the interviewer says now.

        New interview: the intro and the first question (recorded). Resumed while waiting for an
        answer: the last thing said, again, *not* recorded a second time (``resumed``). Resumed
        with an answer that never got its reply: the reply, decided and recorded now.
        """
        if self.state.phase == "new":
            started = time.perf_counter()
            intro = self._say(self.guide.intro.text, SCRIPTED, None)
            return self._finish([intro, *self._ask_from(0)], started)
        if self.state.phase == DECIDING:
            return self._reply(time.perf_counter())
        utterances = tuple(Utterance(t.text, t.kind, t.question_id, t.start_s, t.end_s)
                           for t in self.store.last_reply(self.interview_id))
        return Reply(utterances=utterances, done=self.done, resumed=True)

    def respond(self, text: str, duration_s: float) -> Reply:
        """Record the participant's answer (``duration_s`` of speaking) and return the reply to it."""
        if self.state.phase == ENDED:
            raise ConductorError("the interview has ended")
        if self.state.phase != ANSWERING:
            raise ConductorError("the interview is not waiting for an answer: call open() first")
        started = time.perf_counter()
        self._hear(text, max(0.0, float(duration_s)))
        self.state.phase = DECIDING
        self._commit()
        return self._reply(started)

    def stop(self, source: str) -> Reply:
        """End the interview now, kindly (the guide's stop and closing lines), at the participant's request
        made outside speech: ``source`` names how (``end_button``: the page's End interview button)."""
        if self.state.phase == ENDED:
            raise ConductorError("the interview has ended")
        started = time.perf_counter()
        return self._finish(self._stop(source), started)

    # ------------------------------------------------------------------ deciding

    def _reply(self, started: float) -> Reply:
        answer = next((line.text for line in reversed(self.window.lines) if line.speaker == PARTICIPANT), "")
        return self._finish(self._decide(answer), started)

    def _finish(self, utterances: list[Utterance], started: float) -> Reply:
        if self._turns:
            first = self._turns[0]
            self._turns[0] = replace(first, llm_latency_ms=round(self._llm_ms, 1) if self._llm_ms else None,
                                     response_latency_ms=round((time.perf_counter() - started) * 1000, 1))
        # What the next answer responds to; the untimed intro is not part of any exchange.
        self.state.last_prompt_s = round(sum(u.end_s - u.start_s for u in utterances
                                             if u.question_id is not None or u.kind != SCRIPTED), 3)
        if self.state.phase != ENDED:
            self.state.phase = ANSWERING
        self._commit()
        self._llm_ms = 0.0
        return Reply(utterances=tuple(utterances), done=self.done)

    def _decide(self, answer: str) -> list[Utterance]:
        question = self.current_question
        if question is None:  # pragma: no cover - an answer after the closing cannot be recorded
            return self._close_interview()
        verdict = self.classifier.classify(answer)
        pending, self.state.pending = self.state.pending, None
        wording = self.guide.safety
        if verdict.signal == "severe" and pending != "severe_offer":
            return self._on_signal(verdict, question)
        # A stop heard in an answer that also says to go on ("I'm okay, we can go on") is not one.
        stop_heard = verdict.signal == "stop" and not safety.goes_on(answer)
        if pending in ("confirm_stop", "severe_offer"):
            if safety.confirms(answer) or stop_heard:
                return self._stop("confirmed")
            return self._move_on(lead=wording.resume)
        if pending == "pause_offer":
            # The offer asked whether to keep going: a "no" ends the interview; a stop is confirmed once.
            if safety.declines(answer):
                return self._stop("confirmed")
            if stop_heard:
                return self._on_signal(verdict, question)
            return self._move_on(lead=wording.resume)
        if verdict.heard:
            return self._on_signal(verdict, question)

        pace = self._pace()
        exchange = budget.mean_exchange_s(self.state.exchange_total_s, self.state.exchange_count)
        if pace.time_is_up(exchange) or self._follow_ups_spent(question):
            return self._move_on()
        self._reflect(force=False)
        decision = self._ask_llm(question, pace, answer)
        if decision is None:
            # A fallback leaves the choice to pacing and the grounded follow-ups, neither of which
            # needs the LLM: a "move on" that pacing may still turn into a follow-up.
            decision = NO_DECISION
        added = _LLM_SIGNALS.get(decision.signal)
        if added is not None and added in self.options.llm_signals:
            return self._on_signal(Verdict(added, 0.0, verdict.scores, HEARD_BY_LLM), question)
        if added is not None:
            ignored = self.state.llm_signals_ignored
            ignored[added] = ignored.get(added, 0) + 1
        if self.guide.followups is not None:
            return self._grounded_follow_up_or_move_on(question, decision, pace.may_move_on(exchange))
        if decision.action == "follow_up" and decision.follow_up is not None:
            return [self._follow_up(decision.follow_up, question.id)]
        if decision.action == "follow_up":
            # The model wanted a follow-up but wrote one that fails the checks: it is never said;
            # the decision becomes "move on", which pacing may still turn into a neutral probe.
            self._rejected(decision.rejected_follow_up or "follow_up_invalid", question.id)
        probe = decision.follow_up or self._generic_probe()
        if pace.may_move_on(exchange) or probe is None:
            return self._move_on()
        return [self._follow_up(probe, question.id)]

    # ------------------------------------------------------------------ grounded follow-ups

    def _grounded_follow_up_or_move_on(self, question: Question, decision: Decision,
                                       may_move_on: bool) -> list[Utterance]:
        """A follow-up grounded in this question's answers, or moving on (see step 6 of the module doc)."""
        wants = decision.action == "follow_up"
        if wants and decision.follow_up is None:
            self._rejected(decision.rejected_follow_up or "follow_up_invalid", question.id)
        if not wants and may_move_on:
            return self._move_on()
        context = self._follow_up_context(question)
        orders = self.options.follow_up_choice_orders
        pick = self._llm_pick(question) if orders >= 2 else None
        choice = self.followups.choose(context, llm_follow_up=decision.follow_up, pick=pick,
                                       probe_index=self.state.probe_index, orders=orders)
        self._count_choice(choice)
        if choice is None or (choice.kind == GENERIC and (may_move_on or self._probes_spent(question))):
            # Nothing to ground a follow-up on and no fresh probe, or the time allows moving on: the
            # question's unused time goes to the questions after it rather than into more probing.
            return self._move_on()
        if choice.kind == GENERIC:
            self.state.probe_index += 1
            self.state.generic_probes[question.id] = self.state.generic_probes.get(question.id, 0) + 1
        return [self._follow_up(choice.text, question.id)]

    def _follow_ups_spent(self, question: Question) -> bool:
        """True when the question has had the guide's most follow-ups (`FollowUpTemplates.max_per_question`),
        or is too short for any (``min_question_seconds``)."""
        limits = self.guide.followups
        return limits is not None and (question.seconds < limits.min_question_seconds
                                       or self.state.followups.get(question.id, 0) >= limits.max_per_question)

    def _probes_spent(self, question: Question) -> bool:
        """True when the question has had the guide's most generic probes."""
        limits = self.guide.followups
        return limits is None or self.state.generic_probes.get(question.id, 0) >= limits.generic_per_question

    def _follow_up_context(self, question: Question) -> Context:
        lines = self.window.lines
        asked_at = max((i for i, line in enumerate(lines)
                        if line.speaker == INTERVIEWER and line.text == question.text), default=-1)
        answers = [line.text for line in lines[asked_at + 1:] if line.speaker == PARTICIPANT]
        earlier = [sentence for question_id, sentence in self.heard if question_id != question.id]
        facts = [f"{key.replace('_', ' ')}: {value}" for key, value in self.notes.facts.items()]
        return Context(question=" ".join(question.text.split()), objective=objective_text(question), answers=answers,
                       known=[*facts, *earlier], asked=[line.text for line in lines if line.speaker == INTERVIEWER])

    def _llm_pick(self, question: Question) -> Callable[[Sequence[str]], int | None]:
        """The LLM as a chooser among follow-ups in one order: the 0-based index of its pick, or None."""

        def pick(options: Sequence[str]) -> int | None:
            prompt = choice_prompt(name=self.guide.interviewer_name, window=self.window.text(), question=question,
                                   options=options)
            self._note_prompt(prompt)
            return self._numbered_answer(prompt, len(options), "choice", question.id)

        return pick

    def _numbered_answer(self, prompt: str, count: int, kind: str, question_id: str | None) -> int | None:
        """The 0-based index of the numbered option (1 to ``count``) the LLM names after ``prompt``, or None
        (an LLM error is a fallback of ``kind``)."""
        started = time.perf_counter()
        try:
            completion = self.llm.complete_json(prompt, choice_schema(count), name=kind, max_tokens=12)
        except LLMError as error:
            self._llm_ms += (time.perf_counter() - started) * 1000
            self._fallback(f"{kind}_{error.reason}", question_id, reply=error.reply)
            return None
        self._llm_ms += completion.latency_ms
        number = (completion.data or {}).get("choice")
        return number - 1 if isinstance(number, int) and 1 <= number <= count else None

    def _count_choice(self, choice: Choice | None) -> None:
        counts = self.state.followup_choices
        keys = ["how:none"] if choice is None else [f"kind:{choice.kind}", f"how:{choice.how}"]
        for reason, count in (choice.rejected.items() if choice is not None else ()):
            counts[f"rejected:{reason}"] = counts.get(f"rejected:{reason}", 0) + count
        for key in keys:
            counts[key] = counts.get(key, 0) + 1

    def _ask_llm(self, question: Question, pace: budget.Pace, answer: str) -> Decision | None:
        prompt = decision_prompt(name=self.guide.interviewer_name, window=self.window.text(),
                                 notes=self.notes.render(), question=question, seconds_left=pace.left_s)
        self._note_prompt(prompt)
        started = time.perf_counter()
        try:
            completion = self.llm.complete_json(prompt, DECISION_SCHEMA, name="decision",
                                                max_tokens=DECISION_MAX_TOKENS)
        except LLMError as error:
            self._llm_ms += (time.perf_counter() - started) * 1000
            self._fallback(error.reason, question.id, reply=error.reply)
            return None
        self._llm_ms += completion.latency_ms
        self._last_llm_text = completion.text
        asked = [*EXAMPLE_FOLLOW_UPS, *(line.text for line in self.window.lines if line.speaker == INTERVIEWER)]
        try:
            return parse_decision(completion.data or {}, asked=asked, last_answer=answer,
                                  interviewer_name=self.guide.interviewer_name)
        except DecisionRejected as error:
            self._fallback(error.reason, question.id, reply=completion.text)
            return None

    def _reflect(self, *, force: bool) -> None:
        """Update the notes when enough new conversation has passed (or, forced, when anything has)."""
        since = self.state.chars_since_reflection
        if since == 0 or (not force and since < REFLECT_EVERY_CHARS):
            return
        if not any(line.speaker == PARTICIPANT for line in self.window.lines):
            return
        soon = self.questions[self.state.position:self.state.position + CHECK_HORIZON]
        upcoming = {q.condition.note for q in soon if q.condition is not None}
        checks = {note: self.conditions[note] for note in self.conditions
                  if note in upcoming and self.notes.conditions.get(note, UNKNOWN) == UNKNOWN}
        prompt = reflection_prompt(name=self.guide.interviewer_name, window=self.window.text(),
                                   notes=self.notes.render(),
                                   checks={note: description for note, (description, _) in checks.items()})
        self._note_prompt(prompt)
        self.state.chars_since_reflection = 0
        schema = reflection_schema({note: values for note, (_, values) in checks.items()})
        started = time.perf_counter()
        try:
            completion = self.llm.complete_json(prompt, schema, name="reflection", max_tokens=280 + 110 * len(checks))
        except LLMError as error:
            self._llm_ms += (time.perf_counter() - started) * 1000
            self._fallback(f"reflection_{error.reason}", self._question_id(), reply=error.reply)
            return
        self._llm_ms += completion.latency_ms
        allowed = {note: values for note, (_, values) in checks.items()}
        apply_reflection(self.notes, completion.data or {}, self.window.participant_words(), allowed,
                         ignore_values=EXAMPLE_FACT_VALUES, supports=self._evidence_supports)
        self.state.notes = self.notes.as_dict()

    def _evidence_supports(self, note: str, value: str, evidence: str) -> bool:
        """True when a reflection's quote supports its value: the quote is about the note at all (its meaning
        is near the note's description, `EVIDENCE_SIMILARITY`), and the LLM, shown only that quote and the
        note's values, names the same value in every order of the values (`stable_choice`).

        A wrong value skips questions, and their answers are lost; a value left unknown costs only a
        question the participant may find does not apply. So a value the model reads one way in one
        order and another way in the other is not kept."""
        description, values = self.conditions[note]
        if float(self.followups.meaning.similarity(evidence, [description])[0]) < EVIDENCE_SIMILARITY:
            return False
        index = stable_choice(values, self._llm_check(description, evidence), orders=len(values))
        confirmed = index is not None and values[index] == value
        self.state.events.append({"type": "note_check", "note": note, "value": value, "confirmed": confirmed,
                                  "seq": self.state.next_seq})
        return confirmed

    def _llm_check(self, description: str, evidence: str) -> Callable[[Sequence[str]], int | None]:
        """The LLM as a reader of one quote against a note's values in one order: the 0-based index of the
        value it names, or None."""

        def pick(values: Sequence[str]) -> int | None:
            prompt = check_prompt(name=self.guide.interviewer_name, description=description, evidence=evidence,
                                  values=values)
            return self._numbered_answer(prompt, len(values), "check", self._question_id())

        return pick

    def _pace(self) -> budget.Pace:
        question_id = self._question_id() or ""
        return budget.pace(self.allotments, self.state.position, self.state.seconds_used.get(question_id, 0.0),
                           self.state.carry_s)

    # ------------------------------------------------------------------ moving through the guide

    def _move_on(self, *, lead: str | None = None) -> list[Utterance]:
        """Leave the current question (after an optional transition) and ask the next applicable one."""
        said: list[Utterance] = []
        question = self.current_question
        if lead is not None:
            said.append(self._say(lead, TRANSITION, question.id if question else None))
        if question is not None:
            used = self.state.seconds_used.get(question.id, 0.0)
            self.state.carry_s = round(self.state.carry_s + question.seconds - used, 3)
        return [*said, *self._ask_from(self.state.position + 1)]

    def _ask_from(self, position: int) -> list[Utterance]:
        for index in range(position, len(self.questions)):
            question = self.questions[index]
            self.state.position = index
            if question.condition is not None:
                note = question.condition.note
                if self.notes.conditions.get(note, UNKNOWN) == UNKNOWN:
                    self._reflect(force=True)
                if self.notes.conditions.get(note, UNKNOWN) in question.condition.skip_when:
                    self.state.skipped.append(question.id)
                    self._event("skip", question.id, "notes")
                    self.state.carry_s = round(self.state.carry_s + question.seconds, 3)
                    continue
            self.state.asked.append(question.id)
            return [self._say(question.text, SCRIPTED, question.id)]
        self.state.position = len(self.questions)
        return self._close_interview()

    def _close_interview(self) -> list[Utterance]:
        closing = self._say(self.guide.closing.text, CLOSING, None)
        self.state.phase = ENDED
        self._ended_status = ("completed", "completed: every applicable question was asked")
        return [closing]

    def _stop(self, source: str) -> list[Utterance]:
        question_id = self._question_id()
        self._event("stop", question_id, source)
        closing = self._say(f"{self.guide.safety.stop} {self.guide.closing.text}", CLOSING, None)
        self.state.phase = ENDED
        where = f" during question {question_id}" if question_id else ""
        how = {"confirmed": "confirmed when asked", "end_button": "pressed End interview"}.get(source, "asked")
        self._ended_status = ("stopped", f"stopped: the participant {how} to stop the interview{where}")
        return [closing]

    def _on_signal(self, verdict: Verdict, question: Question) -> list[Utterance]:
        """The guide's fixed response to a safety signal, recorded with who heard it (``verdict.heard_by``:
        the classifier's head, its keyword floor or the LLM)."""
        source = verdict.heard_by
        wording = self.guide.safety
        signal = verdict.signal
        if signal in _FLAGGED:
            self._flag(verdict, source, question.id)
        if signal == "severe":
            self._event("severe", question.id, source)
            self.state.pending = "severe_offer"
            return [self._say(wording.severe, TRANSITION, question.id)]
        if signal == "distress":
            self._event("distress", question.id, source)
            self.state.pending = "pause_offer"
            return [self._say(wording.distress, TRANSITION, question.id)]
        if signal == "stop":
            self._event("stop_check", question.id, source)
            self.state.pending = "confirm_stop"
            return [self._say(wording.stop_confirm, TRANSITION, question.id)]
        if signal == "refusal":
            self._event("refusal", question.id, source)
            return self._move_on(lead=wording.refusal)
        # injection: back to the question being asked, again, word for word; it is not skipped. Once:
        # an answer heard as an injection again (a participant who repeats it, or a false signal on how
        # they talk) would otherwise get the same question for ever; the interview goes on instead.
        steered = any(e["type"] == "injection" and e["question_id"] == question.id for e in self.state.events)
        self._event("injection", question.id, source)
        if steered:
            return self._move_on(lead=wording.resume)
        return [self._say(wording.injection, TRANSITION, question.id),
                self._say(question.text, SCRIPTED, question.id)]

    def _flag(self, verdict: Verdict, source: str, question_id: str) -> None:
        answer_seq = next((line.seq for line in reversed(self.window.lines) if line.speaker == PARTICIPANT), -1)
        score = round(verdict.scores.get(verdict.signal, 0.0), 4)
        self._flags.append(SafetyFlag(turn_seq=answer_seq, question_id=question_id, signal=verdict.signal,
                                      score=score, source=source))

    def _follow_up(self, text: str, question_id: str) -> Utterance:
        self.state.followups[question_id] = self.state.followups.get(question_id, 0) + 1
        return self._say(text, FOLLOWUP, question_id)

    def _generic_probe(self) -> str | None:
        """The guide's next generic probe (None for a guide without a ``followups`` block)."""
        probes = self.followups.generic()
        if not probes:
            return None
        probe = probes[self.state.probe_index % len(probes)]
        self.state.probe_index += 1
        return probe

    # ------------------------------------------------------------------ bookkeeping

    def _question_id(self) -> str | None:
        question = self.current_question
        return question.id if question else None

    def _say(self, text: str, kind: str, question_id: str | None) -> Utterance:
        start = self.state.clock_s
        end = round(start + budget.speaking_seconds(text), 3)
        self._record(INTERVIEWER, kind, question_id, text, start, end)
        return Utterance(text=text, kind=kind, question_id=question_id, start_s=start, end_s=end)

    def _hear(self, text: str, duration_s: float) -> None:
        start = self.state.clock_s
        self.state.exchange_total_s = round(self.state.exchange_total_s + self.state.last_prompt_s + duration_s, 3)
        self.state.exchange_count += 1
        question_id = self._question_id()
        self._record(PARTICIPANT, "answer", question_id, text, start, round(start + duration_s, 3))
        self.heard.extend((question_id, sentence) for sentence in sentences(text))

    def _record(self, speaker: str, kind: str, question_id: str | None, text: str, start: float, end: float) -> None:
        seq = self.state.next_seq
        self._turns.append(TurnRecord(seq=seq, speaker=speaker, kind=kind, question_id=question_id, text=text,
                                      start_s=start, end_s=end))
        self.state.next_seq = seq + 1
        self.state.clock_s = end
        if question_id is not None:
            used = self.state.seconds_used.get(question_id, 0.0)
            self.state.seconds_used[question_id] = round(used + end - start, 3)
        line = Line(seq, speaker, text)
        self.window.add(line)
        self.state.window_start_seq = self.window.start_seq
        self.state.chars_since_reflection += len(render_line(line, self.guide.interviewer_name))

    def _note_prompt(self, prompt: str) -> None:
        size = len(prompt)
        self.state.max_prompt_chars = max(self.state.max_prompt_chars, size)
        question_id = self._question_id()
        if question_id is not None:
            by_question = self.state.prompt_chars_by_question
            by_question[question_id] = max(by_question.get(question_id, 0), size)

    def _event(self, kind: str, question_id: str | None, source: str) -> None:
        metrics.SAFETY_EVENTS.labels(kind=kind, source=source).inc()
        self.state.events.append({"type": kind, "question_id": question_id, "source": source,
                                  "seq": self.state.next_seq})

    def _rejected(self, reason: str, question_id: str) -> None:
        rejected = self.state.rejected_follow_ups
        rejected[reason] = rejected.get(reason, 0) + 1
        log.info("llm follow-up failed the checks; not asked",
                 extra={"interview_id": self.interview_id, "question_id": question_id, "reason": reason,
                        "personal": {"llm_reply": self._last_llm_text[:500]}})

    def _fallback(self, reason: str, question_id: str | None, reply: str | None = None) -> None:
        metrics.LLM_FALLBACKS.labels(reason=reason).inc()
        self.state.fallbacks += 1
        self.state.fallback_reasons[reason] = self.state.fallback_reasons.get(reason, 0) + 1
        extra: dict[str, Any] = {"interview_id": self.interview_id, "question_id": question_id, "reason": reason,
                                 "fallbacks": self.state.fallbacks}
        if reply is not None:
            extra["personal"] = {"llm_reply": reply[:500]}
        log.warning("llm reply unusable; pacing and the grounded follow-ups decide", extra=extra)

    def _commit(self) -> None:
        status, reason = self._ended_status or (None, None)
        self.state.notes = self.notes.as_dict()
        self.store.save(self.interview_id, protocol_hash=self.protocol_hash, turns=self._turns,
                        checkpoint=self.state.to_checkpoint(), status=status, end_reason=reason, flags=self._flags)
        self._turns = []
        self._flags = []
