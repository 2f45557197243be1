"""What conducts an interview, recorded with it: the LLM, the prompt version, the safety classifier.

The prompt version is the sha256 of the modules that write what the LLM reads and what its reply
must be (`prompts`, `decisions`): any change to a prompt, an example or the decision schema gives a
new version, with nothing to remember to bump.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from interviewer.conductor.persistence import Provenance

if TYPE_CHECKING:
    from interviewer.language.safety_classifier import SafetyClassifier
    from interviewer.llm.client import LLMClient

_PROMPT_MODULES = ("prompts.py", "decisions.py")


@cache
def prompt_version() -> str:
    """``prompts-<sha256[:12]>`` of the prompt and decision modules' source."""
    digest = hashlib.sha256()
    for name in _PROMPT_MODULES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return f"prompts-{digest.hexdigest()[:12]}"


def provenance(llm: LLMClient, classifier: SafetyClassifier) -> Provenance:
    """The provenance of an interview conducted with ``llm`` and ``classifier``."""
    return Provenance(llm_model=llm.model, llm_endpoint=llm.endpoint, prompt_version=prompt_version(),
                      safety_classifier_version=classifier.version)
