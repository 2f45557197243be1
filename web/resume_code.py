"""The resume code: what a participant types to continue on another device under a new Prolific session.

A Prolific id is not a secret, so a link with a known PID and a SESSION_ID the study has not seen
proves nothing (``survey.journey.Journey._prove``). The participant's own browser holds their
capability, and Prolific's API can vouch for a session when it is configured; the resume code is
the participant's own proof for everything else: a new device, with a new Prolific session.

The code is never stored. It is an HMAC-SHA256 of the study and the participant's pseudonym under a
key derived from ``settings.secret_key`` (its own derivation, so it is unrelated to the cookie and
form keys), cut to 60 bits and written in Crockford's base32 as ``XXXX-XXXX-XXXX``. A copy of the
database therefore reveals no code, and no code can be worked out from anything a participant or
an attacker sees; guessing one online is bounded by the ``resume`` rate limit per address and per
Prolific id (2^60 codes at a handful of tries an hour). Rotating the secret key changes every code,
as it ends every capability cookie.
"""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: no I, L, O or U, so nothing reads as another character."""
LENGTH = 12
GROUP = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalise(typed: str) -> str:
    """The code as typed, upper-cased, without spaces and dashes, with the letters people mistake for digits
    read as those digits (Crockford's rule)."""
    return "".join(ch for ch in typed.upper().translate(_READ_AS) if ch not in " -\t")


class ResumeCodes:
    """Works out and checks participants' resume codes with the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"voxbank.resume-code\0" + secret_key.encode("utf-8")).digest()

    def _raw(self, slug: str, pseudonym_id: str) -> str:
        digest = hmac.new(self._key, f"{slug}\0{pseudonym_id}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:8], "big") >> (64 - 5 * LENGTH)
        return "".join(ALPHABET[(number >> (5 * (LENGTH - 1 - n))) & 31] for n in range(LENGTH))

    def code_for(self, slug: str, pseudonym_id: str) -> str:
        """The participant's code as shown: ``XXXX-XXXX-XXXX``."""
        raw = self._raw(slug, pseudonym_id)
        return "-".join(raw[n:n + GROUP] for n in range(0, LENGTH, GROUP))

    def matches(self, slug: str, pseudonym_id: str, typed: str) -> bool:
        """Whether ``typed`` is the participant's code (compared in constant time)."""
        return hmac.compare_digest(normalise(typed).encode("ascii", "replace"),
                                   self._raw(slug, pseudonym_id).encode("ascii"))
