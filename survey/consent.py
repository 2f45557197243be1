"""The consent document as the participant reads it, and the scopes it asks for."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from protocols.loader import ConsentDocument

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Scope:
    """One consent scope: its id, the heading the document gives it, and whether it is required."""

    id: str
    title: str
    required: bool


def fill(document: ConsentDocument, values: dict[str, str]) -> str:
    """The document's text with its ``{{ name }}`` placeholders filled; unknown names are left as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), document.text)


def text_hash(text: str) -> str:
    """The sha256 stored with a signed copy."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scopes(document: ConsentDocument) -> list[Scope]:
    """The scopes in the order study.yaml lists them, titled by the document's ``## <scope> — <title>`` heading."""
    titles = {}
    for match in re.finditer(r"^#{2,3}\s+([a-z0-9_]+)\s+[—–-]+\s+(.+?)\s*$", document.text, re.M):
        titles[match.group(1)] = match.group(2)
    out = [Scope(s, titles.get(s, s.replace("_", " ")), True) for s in document.required_scopes]
    out += [Scope(s, titles.get(s, s.replace("_", " ")), False) for s in document.optional_scopes]
    return out
