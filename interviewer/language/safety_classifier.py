"""Safety signals heard by meaning: what a participant's utterance asks of the interviewer.

    classifier = SafetyClassifier.shipped()
    verdict = classifier.classify("Honestly, some days I don't see the point of going on.")
    verdict.signal   # "severe"
    verdict.score    # the signal's probability, for the review row

Six classes: ``severe`` (self-harm or suicide), ``distress``, ``stop`` (the participant wants the
interview to end), ``refusal`` (declines the current topic), ``injection`` (tries to instruct the
interviewer), and ``none``. The meaning is read by all-mpnet-base-v2 with int8 weights
(`interviewer.language.sentences.SAFETY`, `interviewer.language.safety_graph`; the follow-up ranker
reads with the smaller MiniLM); a multinomial logistic-regression head, trained by
`interviewer.language.train_safety` on the labelled set kept under ``tests/``, turns each vector into
class probabilities. The head ships with the package (``data/safety_head.json``: weights, version,
calibrated thresholds). Nothing here asks the LLM.

An answer can run for minutes and hold its signal in one sentence, so an answer is scored sentence by
sentence (a long answer's long sentences also clause by clause, `clause_windows`; `pieces`). Even a short
answer can hide its signal behind a sentence of context ("I keep my politics to myself. Can we go to the
next one?"). An utterance's pieces are encoded together, in one call of the graph
(`SentenceEncoder.encode_group`), as training encodes them. Each class takes its highest probability
over the pieces. A class is heard when that probability reaches
its calibrated threshold; ``severe`` comes first, then the heard class furthest above its threshold.
Distress is scored as distress *or* severe (a self-harm statement is also distress), and severe is heard only where that
distress-or-severe score also reaches its own threshold (``severe_risk``). Where distress is heard and
the self-harm score is below its threshold but at ``severe_escalate`` or above, the verdict is severe:
missing self-harm is the worse error. Where nothing is heard, distress is also heard from the distress
class's probability alone (``distress_only``), whose neutral tail is lower (`decide`).

The phrases the old keyword detector lists (`interviewer.conductor.safety`) are kept as a floor: a
listed self-harm phrase is always ``severe``, and a listed phrase gives its signal where the head
heard none (`with_listed_phrases`).

Besides the embedding, the head reads hashed word n-grams: small words that flip a meaning
("never", "don't want to stop") are blurred in a sentence embedding and kept in n-grams; and hashed
character 3-5-grams (within words), which still match when speech recognition splits or misspells a
word ("my self", "a live", "inner view"). On the training split, out of fold, the character n-grams
raised distress recall from 0.69 to 0.75, stop from 0.85 to 0.89 and injection from 0.89 to 0.92 at
the same neutral false-signal budgets (`train_safety`'s docstring has the comparison).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from interviewer.language.sentences import SAFETY, SentenceEncoder, shared_encoder

LABELS = ("none", "severe", "distress", "stop", "refusal", "injection")
"""The classes, in the order of the head's rows."""
SIGNALS = LABELS[1:]
THRESHOLDS = (*SIGNALS, "severe_risk", "severe_escalate", "distress_only")
"""A threshold per signal; ``severe_risk``: severe is heard only where distress-or-severe is too;
``severe_escalate``: where distress is heard, a self-harm score from this one up makes it severe; and
``distress_only``: distress is also heard where the distress class alone reaches this one."""
SCORES = (*SIGNALS, "distress_only")
"""What `signal_scores` gives for one utterance: a score per signal, and the distress class's own."""
SHIPPED_HEAD = Path(__file__).parent / "data" / "safety_head.json"

LONG_ANSWER_WORDS = 30
"""In an answer of more than this many words, a sentence longer than `WINDOW_WORDS` is also scored in
clause windows (a short answer's sentences are short enough whole)."""
WINDOW_WORDS = 24
"""A long answer's sentence longer than this is also scored in clause windows of at most this many words."""
MAX_PIECES = 24
"""At most this many pieces per utterance (the latest kept): bounds the latency of a long answer."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CONJUNCTIONS = frozenset({"and", "but", "so", "because", "cause", "when", "if", "though", "although"})
"""A run-on sentence's clauses start after a comma or semicolon and at these words (not at the second of two:
"..., and when he passed")."""
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
NGRAM_BUCKETS = 1 << 13
"""Word one- and two-grams are hashed into this many buckets (crc32): the lexical half of the features."""
CHAR_BUCKETS = 1 << 14
"""Character 3- to 5-grams within words are hashed into this many buckets (scikit-learn's murmurhash)."""


@cache
def _char_hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=CHAR_BUCKETS,
                             alternate_sign=False, norm="l2", lowercase=True)


def char_ngram_features(texts: list[str], weight: float) -> csr_matrix:
    """Hashed character 3-5-gram counts within words (sparse), each row scaled to length ``weight``:
    they survive the split and misspelt words of speech recognition."""
    return csr_matrix(_char_hasher().transform(texts) * weight, dtype=np.float32)


def ngram_features(texts: list[str], weight: float) -> csr_matrix:
    """Hashed word 1- and 2-gram counts (sparse), each row scaled to length ``weight``.

    Sentence embeddings blur small words that flip a meaning ("never", "don't want to stop"); the
    n-grams keep them. Contractions are expanded, since speech recognition writes them inconsistently.
    """
    data: list[float] = []
    columns: list[int] = []
    pointers = [0]
    for text in texts:
        words = _WORD.findall(text.lower().replace("n't", " not").replace("'m", " am").replace("'d", " would"))
        counts: dict[int, float] = {}
        for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
            bucket = zlib.crc32(gram.encode()) % NGRAM_BUCKETS
            counts[bucket] = counts.get(bucket, 0.0) + 1.0
        norm = float(np.sqrt(sum(v * v for v in counts.values()))) or 1.0
        for bucket in sorted(counts):
            columns.append(bucket)
            data.append(counts[bucket] * weight / norm)
        pointers.append(len(columns))
    return csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(columns, dtype=np.int64), pointers),
                      shape=(len(texts), NGRAM_BUCKETS))


class SafetyHeadError(RuntimeError):
    """The classifier head file is missing or unreadable; the message names the file and the fix."""


@dataclass(frozen=True)
class SafetyHead:
    """The trained head: ``weights`` over the embedding (classes x 768) and over the hashed n-grams
    (classes x buckets, stored sparse), ``bias``, and per-signal ``thresholds``."""

    version: str
    weights: np.ndarray
    bias: np.ndarray
    thresholds: dict[str, float]
    meta: dict[str, Any]
    ngram_weights: np.ndarray | None = None
    ngram_weight: float = 0.0
    char_weights: np.ndarray | None = None
    char_weight: float = 0.0

    @classmethod
    def load(cls, path: Path = SHIPPED_HEAD) -> SafetyHead:
        """Read a head file written by `train_safety`."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ngrams = np.zeros((len(LABELS), NGRAM_BUCKETS), dtype=np.float32)
            for bucket, column in data["ngram_weights"].items():
                ngrams[:, int(bucket)] = column
            chars = np.zeros((len(LABELS), CHAR_BUCKETS), dtype=np.float32)
            for bucket, column in data["char_weights"].items():
                chars[:, int(bucket)] = column
            head = cls(version=str(data["version"]), weights=np.asarray(data["weights"], dtype=np.float32),
                       bias=np.asarray(data["bias"], dtype=np.float32),
                       thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
                       meta=dict(data.get("meta", {})), ngram_weights=ngrams,
                       ngram_weight=float(data["ngram_weight"]), char_weights=chars,
                       char_weight=float(data["char_weight"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SafetyHeadError(f"cannot read the safety classifier head {path}: {error}; rebuild it with "
                                  f"`python -m interviewer.language.train_safety`") from None
        if list(data.get("labels", [])) != list(LABELS) or head.weights.shape[0] != len(LABELS):
            raise SafetyHeadError(f"{path} was trained for classes {data.get('labels')}, not {list(LABELS)}; "
                                  f"rebuild it with `python -m interviewer.language.train_safety`")
        if set(head.thresholds) != set(THRESHOLDS):
            raise SafetyHeadError(f"{path} has thresholds for {sorted(head.thresholds)}, not {sorted(THRESHOLDS)}")
        return head

    def to_json(self) -> dict[str, Any]:
        """The head file's document (weights rounded to 6 decimals; the n-gram weights stored sparse)."""
        return {"version": self.version, "labels": list(LABELS),
                "thresholds": {k: round(float(v), 6) for k, v in self.thresholds.items()},
                "meta": self.meta, "ngram_weight": self.ngram_weight, "char_weight": self.char_weight,
                "bias": [round(float(b), 6) for b in self.bias],
                "weights": [[round(float(w), 6) for w in row] for row in self.weights],
                "ngram_weights": _sparse_columns(self.ngram_weights),
                "char_weights": _sparse_columns(self.char_weights)}

    def probabilities(self, vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """Class probabilities, one row per piece: ``vectors`` are the pieces' embeddings, ``texts``
        the pieces themselves (for the n-gram half)."""
        logits = vectors @ self.weights.T + self.bias
        if self.ngram_weights is not None and texts is not None and self.ngram_weight:
            logits = logits + np.asarray(ngram_features(texts, self.ngram_weight) @ self.ngram_weights.T)
        if self.char_weights is not None and texts is not None and self.char_weight:
            logits = logits + np.asarray(char_ngram_features(texts, self.char_weight) @ self.char_weights.T)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def utterance_scores(self, vectors: np.ndarray, texts: list[str]) -> dict[str, float]:
        """One utterance's `signal_scores` from its pieces and their vectors: the one computation both
        `SafetyClassifier.classify` and calibration (`train_safety.head_scores`) use."""
        return signal_scores(self.probabilities(vectors, texts))


def _sparse_columns(weights: np.ndarray | None) -> dict[str, list[float]]:
    """The non-zero columns of a classes x buckets weight matrix, by bucket."""
    if weights is None or not weights.size:
        return {}
    used = np.flatnonzero(np.abs(weights).max(axis=0) > 0)
    return {str(int(b)): [round(float(w), 6) for w in weights[:, b]] for b in used}


HEAD, LISTED_PHRASE, HEARD_BY_LLM = "classifier", "phrase", "llm"
"""Who heard a verdict's signal: the trained head, a phrase of the keyword floor (`with_listed_phrases`),
or the LLM (a signal the conductor adds where the classifier heard none)."""


@dataclass(frozen=True)
class Verdict:
    """What one utterance signals: ``signal`` (``none`` or a class), its ``score`` (the head's), every
    score, and who heard the signal (``heard_by``: `HEAD`, `LISTED_PHRASE`, where the head's score for
    it may be low, or `HEARD_BY_LLM`)."""

    signal: str
    score: float
    scores: dict[str, float]
    heard_by: str = HEAD

    @property
    def heard(self) -> bool:
        """True when the utterance carries a signal."""
        return self.signal != "none"


def sentences(text: str) -> list[str]:
    """The sentences of an utterance, each with its whitespace made single."""
    return [" ".join(part.split()) for part in _SENTENCE_END.split(text) if part.strip()]


def clause_windows(sentence: str) -> list[str]:
    """A sentence's clause windows: from each clause on, as many whole clauses as fit in `WINDOW_WORDS`
    words (a clause longer than that alone)."""
    clauses: list[list[str]] = []
    previous = ""
    for word in sentence.split():
        bare = previous.lower().rstrip(",;")
        if not clauses or previous[-1] in ",;" or (word.lower() in _CONJUNCTIONS and bare not in _CONJUNCTIONS):
            clauses.append([])
        clauses[-1].append(word)
        previous = word
    windows = []
    for start in range(len(clauses)):
        words: list[str] = []
        for clause in clauses[start:]:
            if words and len(words) + len(clause) > WINDOW_WORDS:
                break
            words += clause
        windows.append(" ".join(words))
    return windows


def pieces(text: str) -> list[str]:
    """The parts of an utterance that are scored: its sentences, and, for an answer over
    ``LONG_ANSWER_WORDS`` words, its long sentences' `clause_windows` (the latest `MAX_PIECES` kept). A
    one-sentence utterance is one piece, itself.

    A spoken answer runs on ("...we lived in Texas for a while, and honestly most nights I think nobody
    would miss me"), and a sentence embedding of forty words blurs the one clause that matters, so the
    clauses are scored too. Windows cut at clause breaks, not at every twelfth word: a window cut mid-clause
    ("...if something came to an end, my father wanted me there") reads as what neither clause says.

    A multi-sentence utterance is not also scored whole (heads up to 12 did): each class takes its
    highest score over the pieces, so the whole could only add what no sentence says alone, and out of
    fold it added nothing measurable (`train_safety`'s docstring, head 13), while encoding it beside its
    sentences doubles what the encoder reads.
    """
    if not text.strip():
        return []
    long_answer = len(text.split()) > LONG_ANSWER_WORDS
    found: list[str] = []
    for sentence in sentences(text):
        found.append(sentence)
        if long_answer and len(sentence.split()) > WINDOW_WORDS:
            found += clause_windows(sentence)
    return list(dict.fromkeys(found))[-MAX_PIECES:]


def signal_scores(probabilities: np.ndarray) -> dict[str, float]:
    """Each signal's score for one utterance from its pieces' probabilities (rows: pieces), and
    ``distress_only``: the distress class's own probability, without self-harm's."""
    best = {label: float(probabilities[:, i].max()) for i, label in enumerate(LABELS)}
    index = {label: i for i, label in enumerate(LABELS)}
    # Distress is heard also where a piece reads as self-harm: the two share most of their meaning.
    best["distress"] = float((probabilities[:, index["distress"]] + probabilities[:, index["severe"]]).max())
    scores = {signal: best[signal] for signal in SIGNALS}
    scores["distress_only"] = float(probabilities[:, index["distress"]].max())
    return scores


def decide(scores: dict[str, float], thresholds: dict[str, float]) -> Verdict:
    """The verdict from signal scores: severe first (its own score and the distress-or-severe score
    both at their thresholds), else the heard signal that is furthest above its threshold.

    Where distress is heard and the self-harm score, below its own threshold, still reaches
    ``severe_escalate``, the verdict is severe: the two errors are not alike. Reading distress as
    severe costs a gentler utterance the crisis line and the offer to stop; reading self-harm as
    distress withholds them.

    Where nothing else is heard, distress is also heard from the distress class alone at
    ``distress_only``. The distress-or-severe score's threshold is set high by neutral answers that
    read as self-harm ("I don't see myself living in the city forever"), which the self-harm
    threshold already pays for; the distress class alone has a lower neutral tail, so an utterance the
    head reads as plain distress is heard below that threshold. It is never escalated to severe.

    Where distress is heard with an injection or a refusal, the verdict is distress ("I can't talk about
    the fire without losing it. Sorry. Just give me a minute." also reads as an instruction)."""
    heard = {signal: score for signal, score in scores.items()
             if signal in SIGNALS and score >= thresholds[signal]}
    if "severe" in heard and scores["distress"] < thresholds["severe_risk"]:
        del heard["severe"]
    if "severe" not in heard and "distress" in heard and scores["severe"] >= thresholds["severe_escalate"]:
        heard["severe"] = scores["severe"]
    if "severe" in heard:
        return Verdict("severe", heard["severe"], scores)
    if not heard and scores.get("distress_only", 0.0) >= thresholds["distress_only"]:
        return Verdict("distress", scores["distress"], scores)
    if not heard:
        return Verdict("none", 0.0, scores)
    if "distress" in heard:
        # A distressed participant is never told they are off the script, nor moved on without the pause
        # offer: the distress response already offers a skip. Only a stop competes with it.
        heard = {name: score for name, score in heard.items() if name not in ("injection", "refusal")}
    signal = max(heard, key=lambda name: heard[name] / thresholds[name])
    return Verdict(signal, heard[signal], scores)


def with_listed_phrases(verdict: Verdict, text: str) -> Verdict:
    """The verdict, raised where a phrase the old keyword detector lists says more: its self-harm
    phrases always mean ``severe``, and its other phrases give their signal where the head heard
    none. The phrases are narrow (precise), so they only add what the head missed."""
    from interviewer.conductor import safety  # the lexical floor; imported late (conductor imports us)

    listed = safety.detect(text)
    if listed is safety.Signal.DISTRESS and safety.is_severe(text) and verdict.signal != "severe":
        return Verdict("severe", verdict.scores.get("severe", 0.0), verdict.scores, LISTED_PHRASE)
    if verdict.signal == "none" and listed is not safety.Signal.NONE:
        return Verdict(listed.value, verdict.scores.get(listed.value, 0.0), verdict.scores, LISTED_PHRASE)
    return verdict


class SafetyClassifier:
    """The sentence encoder and the shipped head, ready to classify utterances."""

    def __init__(self, head: SafetyHead, encoder: SentenceEncoder | None = None) -> None:
        self.head = head
        self.encoder = encoder or shared_encoder(SAFETY)

    @classmethod
    def shipped(cls) -> SafetyClassifier:
        """The classifier with the head that ships in the package (loaded once per process)."""
        return _shipped()

    @property
    def version(self) -> str:
        """The head's version (recorded with every interview)."""
        return self.head.version

    def warm(self) -> None:
        """Load what a classification needs now (seconds), so that the first utterance is classified in
        milliseconds: the encoder, and the character n-grams' hasher (scikit-learn, about 2.7 s to import;
        warming the encoder alone left that to a participant's first answer)."""
        self.classify("Warming up, before the first answer.")

    def classify(self, text: str) -> Verdict:
        """The signal one participant utterance carries (``none`` for an empty one)."""
        parts = pieces(text)
        if not parts:
            return Verdict("none", 0.0, dict.fromkeys(SCORES, 0.0))
        scores = self.head.utterance_scores(self.encoder.encode_group(parts), parts)
        verdict = decide(scores, self.head.thresholds)
        return with_listed_phrases(verdict, text)


@cache
def _shipped() -> SafetyClassifier:
    return SafetyClassifier(SafetyHead.load())
