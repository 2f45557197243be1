"""Safety by listed phrases: the yes/no reading of a safety check's answer, and the old detector.

The conductor hears safety signals by meaning (`interviewer.language.safety_classifier`). What
stays here is lexical by nature: whether an answer to "would you like to stop?" says yes
(`confirms`) or an answer to "would you like to keep going?" says no (`declines`). `detect` and
`is_severe`, the keyword detector the conductor used before, are kept for two jobs: the reference
that `bench.safety` measures the classifier against, and a floor under the classifier's verdict
(`safety_classifier.with_listed_phrases`: a listed phrase only adds a signal the classifier missed).
The phrases are narrow on purpose; the self-harm, stop and distress lists also hold the common ways
of saying those without the plain words ("better off without me", "can we wrap this up").
"""

from __future__ import annotations

import re
from enum import StrEnum


class Signal(StrEnum):
    """What a participant utterance asks of the interviewer, beyond an answer."""

    NONE = "none"
    STOP = "stop"
    DISTRESS = "distress"
    REFUSAL = "refusal"
    INJECTION = "injection"


def _patterns(*sources: str) -> list[re.Pattern[str]]:
    return [re.compile(source, re.IGNORECASE) for source in sources]


_INTERVIEW = r"(?:the |this )?(?:interview|conversation|session|study)"
_STOP = _patterns(
    rf"\b(?:stop|end|quit|finish|leave|exit)\s+{_INTERVIEW}\b",
    r"\b(?:i (?:want|would like|'d like|wish|need) to|can we|could we|let's|please) (?:stop|end|quit)\b"
    r"(?:\s+(?:now|here|this|it|please|the interview|the conversation))*\s*[.!]*\s*$",
    rf"\bi(?:'m| am) done with {_INTERVIEW}\b",
    rf"\bi (?:don't|do not) want to (?:continue|go on|keep going)(?: with {_INTERVIEW})?\s*[.!]*\s*$",
    rf"\bi (?:don't|do not) want to (?:do|continue) {_INTERVIEW} any ?more\b",
    r"^\s*(?:please\s+)?stop(?:\s+(?:now|please|here))?\s*[.!]*\s*$",
    r"\bno more questions\b",
    # how people end a conversation without the word "stop"
    r"\b(?:can we|could we|let's|let us|i'd like to|i would like to|i want to|i need to) (?:wrap (?:this|it|things) up"
    r"|call it a day|call it quits|finish (?:here|now|for today))\b",
    r"\bi(?:'m| am) (?:done|finished) for (?:today|now|the day)\b",
    r"\b(?:that's|that is) (?:all|enough) for (?:today|now)\b",
    r"\b(?:i have to|i need to|i've got to|i got to|i gotta) (?:go|run|leave|head out|get going)"
    r"(?: now| soon| right now)?\s*[.!]*\s*$",
)
_SELF_HARM = _patterns(
    r"\b(?:kill(?:ing)? myself|end(?:ing)? my life|want(?:ed)? to die|suicid\w*|self[- ]harm|hurt(?:ing)? myself)\b",
    # the common ways of saying it without those words (crisis-line and screening-interview phrasing)
    r"\bbetter off (?:without me|dead|if i (?:was|were)n't (?:here|around)|if i (?:was|were) gone)\b",
    r"\b(?:end|ending) it all\b",
    r"\btak(?:e|ing) my (?:own )?life\b",
    r"\b(?:don't|do not|didn't|did not) want to (?:be alive|live any ?more|exist any ?more|be here any ?more"
    r"|wake up any ?more|wake up again|go on living)\b",
    r"\bno (?:reason|point) (?:to|in) (?:living|live|being alive|going on)\b",
    r"\bwish(?:ed)? i (?:was|were) (?:dead|never born)\b",
    r"\bwish(?:ed)? i (?:could )?(?:just )?(?:not wake up|never woke up|wouldn't wake up|would not wake up"
    r"|disappear)\b",
    r"\b(?:cutting|hanging|shooting|burning|starving) myself\b",
    r"\bcut myself (?:on purpose|again|to feel)\b",
    r"\b(?:took|take|swallowed) (?:too many|a bunch of|a handful of|all (?:my|the|of my)) (?:pills|tablets|meds)\b",
)
_DISTRESS = [*_SELF_HARM, *_patterns(
    r"\b(?:i(?:'m| am)|i feel) (?:so |really |very |just )?(?:hopeless|worthless|devastated|"
    r"overwhelmed right now|falling apart)\b",
    r"\b(?:i(?:'m| am)|i keep) (?:crying|breaking down|shaking)\b",
    r"\bcan(?:'t|not) stop crying\b",
    r"\b(?:this|it) is (?:too |really |very )?(?:hard|painful|upsetting|difficult) to talk about\b",
    r"\bi(?:'m| am) (?:getting )?(?:really |very )?upset\b",
    r"\bi (?:can't|cannot|can not) (?:do this|go on|cope|handle (?:this|it)|take (?:this|it))(?: any ?more)?\b",
    r"\b(?:can't|cannot|can barely|could barely|couldn't) (?:get|getting) out of bed\b",
    r"\bstill (?:hurts|guts me|breaks my heart|haunts me)\b",
)]
_SEVERE = _SELF_HARM
_REFUSAL = _patterns(
    r"\bi(?:'d| would) rather not (?:say|answer|talk|discuss|get into|go into|share)\b",
    r"\bi (?:don't|do not|won't|will not) (?:want to |wish to )?(?:answer|talk about|discuss|get into|go into|share)"
    r" (?:that|this|it)\b",
    r"\bprefer not to (?:say|answer|talk|discuss|share)\b",
    r"\b(?:that's|that is|it's|it is) (?:private|personal|none of your business)\b",
    r"\bnone of your business\b",
    r"\bno comment\b",
    r"\b(?:skip|pass on) (?:this|that)(?: one| question)?\b",
    r"^\s*(?:i )?pass\s*[.!]*\s*$",
    r"\bi(?:'m| am) not (?:comfortable|going to) (?:answering|talking about|sharing|discussing|answer)\b",
)
_INJECTION = _patterns(
    r"\b(?:ignore|disregard|forget|override) (?:all |any )?(?:of )?(?:your|the|my|previous|prior|above|earlier)"
    r"(?: \w+)? (?:instructions|prompt|prompts|rules|guidelines|script|directions)\b",
    r"\b(?:system|developer) (?:prompt|message|instructions)\b",
    r"\byou are (?:now|no longer) (?:an?|the)\b",
    r"\b(?:new|updated) instructions\s*:",
    # addressed to the interviewer (a sentence's first word, or after "can you", "I want you to"), not a
    # story ("I pretend to be a pirate with my kids", "games where you pretend to be a soldier")
    r"(?:^|[.!?]\s+|\b(?:can|could|will|would) you (?:please )?|\b(?:i want|i need) you to |\bplease )"
    r"(?:pretend|act) (?:to be|as if you are|as (?:an?|my|the)|like you(?:'re| are))\b",
    r"\brepeat (?:your|the) (?:instructions|prompt)\b",
)
_AFFIRMATIVE = _patterns(
    r"^\s*(?:yes|yeah|yep|yup|sure|please|ok(?:ay)?|i do|that's right|correct|definitely|absolutely)\b",
    r"\b(?:let's|please) (?:stop|end)\b",
    r"\bi(?:'d| would) like to stop\b",
)
_NEGATIVE = _patterns(r"^\s*(?:no|nope|not really)\b",
                      r"\b(?:keep going|continue|go on|carry on|i'm (?:fine|ok|okay))\b")


def detect(text: str) -> Signal:
    """The strongest signal in one participant utterance; `Signal.NONE` if there is none."""
    for signal, patterns in ((Signal.STOP, _STOP), (Signal.DISTRESS, _DISTRESS),
                             (Signal.REFUSAL, _REFUSAL), (Signal.INJECTION, _INJECTION)):
        if any(pattern.search(text) for pattern in patterns):
            return signal
    return Signal.NONE


def is_severe(text: str) -> bool:
    """True when an utterance mentions self-harm or suicide (the pause offer then names help)."""
    return any(pattern.search(text) for pattern in _SEVERE)


def goes_on(text: str) -> bool:
    """True when an answer says to keep going ("let's continue", "I'm okay")."""
    return bool(_NEGATIVE[1].search(text))


def declines(text: str) -> bool:
    """True when an answer to "would you like to keep going?" says no, and does not say to go on."""
    if detect(text) is Signal.STOP:
        return True
    return bool(_NEGATIVE[0].search(text)) and not _NEGATIVE[1].search(text)


def confirms(text: str) -> bool:
    """True when an answer to "would you like to stop?" says yes, and does not say to go on."""
    if detect(text) is Signal.STOP:
        return True
    if any(pattern.search(text) for pattern in _NEGATIVE):
        return False
    return any(pattern.search(text) for pattern in _AFFIRMATIVE)
