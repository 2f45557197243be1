"""Text the database can store: PostgreSQL refuses NUL characters and unpaired surrogates in text.

Every piece of free text from outside (form fields, webhook bodies) passes through here at the web
boundary, so a participant's stray NUL never turns into a database error (and a 500) later.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """``text`` with NUL removed and unpaired surrogates replaced by U+FFFD; unchanged when already storable."""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group(0) == "\x00" else REPLACEMENT, text)


def is_storable(text: str) -> bool:
    """Whether ``text`` can be stored as it is."""
    return _UNSTORABLE.search(text) is None
