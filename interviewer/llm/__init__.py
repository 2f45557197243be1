"""The interviewer's one LLM client (the `openai` package) and the embedded llama.cpp server.

    from interviewer.llm import LLMOptions, client_for, EmbeddedServer

The wiring (``voxbank.wiring``) builds the options from the settings and picks the endpoint.
"""

from interviewer.llm.client import (
    Completion,
    LLMBadReply,
    LLMClient,
    LLMDeadline,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    client_for,
    reply_deadline,
)
from interviewer.llm.embedded import EmbeddedServer, embedded_model_path, port_answers
from interviewer.llm.options import LLMOptions

__all__ = [
    "Completion",
    "EmbeddedServer",
    "LLMBadReply",
    "LLMClient",
    "LLMDeadline",
    "LLMError",
    "LLMTimeout",
    "LLMUnavailable",
    "LLMOptions",
    "client_for",
    "embedded_model_path",
    "port_answers",
    "reply_deadline",
]
