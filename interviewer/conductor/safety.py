"""Safety and manners, the cheap deterministic half: phrases that need no model to recognise.

`detect` reads one participant utterance and names at most one `Signal`, strongest first:
a request to stop, distress, an explicit refusal, an attempt to instruct the interviewer. The
patterns are deliberately narrow (a false "stop" would end someone's interview); the LLM's
decision carries the same signals for paraphrases, and the conductor treats those more gently
(a stop the LLM hears is confirmed before the interview ends).

The interviewer's own lines for these moments are here too, so that they are never generated.
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
)
_DISTRESS = _patterns(
    r"\b(?:kill(?:ing)? myself|end(?:ing)? my life|want(?:ed)? to die|suicid\w*|self[- ]harm|hurt(?:ing)? myself)\b",
    r"\b(?:i(?:'m| am)|i feel) (?:so |really |very |just )?(?:hopeless|worthless|devastated|"
    r"overwhelmed right now|falling apart)\b",
    r"\b(?:i(?:'m| am)|i keep) (?:crying|breaking down|shaking)\b",
    r"\bcan(?:'t|not) stop crying\b",
    r"\b(?:this|it) is (?:too |really |very )?(?:hard|painful|upsetting|difficult) to talk about\b",
    r"\bi(?:'m| am) (?:getting )?(?:really |very )?upset\b",
)
_SEVERE = _DISTRESS[:1]
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
    r"\b(?:pretend|act) (?:to be|as if you are|as an?)\b",
    r"\brepeat (?:your|the) (?:instructions|prompt)\b",
)
_AFFIRMATIVE = _patterns(
    r"^\s*(?:yes|yeah|yep|yup|sure|please|ok(?:ay)?|i do|that's right|correct|definitely|absolutely)\b",
    r"\b(?:let's|please) (?:stop|end)\b",
    r"\bi(?:'d| would) like to stop\b",
)
_NEGATIVE = _patterns(r"^\s*(?:no|nope|not really)\b",
                      r"\b(?:keep going|continue|go on|carry on|i'm (?:fine|ok|okay))\b")


# Weak cues: too common to act on alone, but an LLM's signal without any of them is not believed.
_CUES = {
    Signal.REFUSAL: re.compile(r"\b(?:no|not|n't|nothing|rather|prefer|private|personal|pass|skip|comfortable|"
                               r"business|myself|between)\b|n't\b", re.IGNORECASE),
    Signal.DISTRESS: re.compile(r"\b(?:sad|hard|difficult|upset\w*|cry\w*|tears|depress\w*|anxious|anxiety|hurt\w*|"
                                r"pain\w*|lost|died|death|scared|afraid|alone|lonely|struggl\w*|awful|terrible|"
                                r"overwhelm\w*|hopeless|miss (?:him|her|them))\b", re.IGNORECASE),
    Signal.STOP: re.compile(r"\b(?:stop|end|done|quit|enough|leave|finish\w*|tired|break|no more)\b", re.IGNORECASE),
}


def corroborates(signal: Signal, text: str) -> bool:
    """True when ``text`` holds at least a weak cue for a ``signal`` that the LLM reported.

    The LLM hears paraphrases the patterns miss, but a small model also hears signals that are not
    there; one it reports is acted on only if the utterance has a word that could carry it.
    """
    cue = _CUES.get(signal)
    return cue is not None and cue.search(text) is not None


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


def confirms(text: str) -> bool:
    """True when an answer to "would you like to stop?" says yes, and does not say to go on."""
    if detect(text) is Signal.STOP:
        return True
    if any(pattern.search(text) for pattern in _NEGATIVE):
        return False
    return any(pattern.search(text) for pattern in _AFFIRMATIVE)


# The interviewer's lines for these moments: fixed text, never generated.
REFUSAL_ACK = "That's completely fine, we can leave that one. Let's move on."
PAUSE_OFFER = ("I'm sorry, that sounds really hard, and thank you for telling me. We can take a break whenever "
               "you like, just press the pause button, and we can also move on to something else. "
               "Would you like to keep going?")
SEVERE_HELP = ("If you are thinking about harming yourself, please reach out right away: in the United States you "
               "can call or text 988 to talk with someone.")
STOP_CONFIRM = "Just to check: would you like to stop the interview here? That is completely fine."
STOP_PREFIX = "Of course, we can stop here."
CONTINUE_ACK = "Thank you. Let's continue."
