"""The interviewer's one LLM client (the `openai` package) and the embedded llama.cpp server.

    from interviewer.llm import client_from_settings, EmbeddedServer
"""

from interviewer.llm.client import (
    Completion,
    LLMBadReply,
    LLMClient,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    client_from_settings,
)
from interviewer.llm.embedded import EmbeddedServer, embedded_model_path, llm_endpoint

__all__ = [
    "Completion",
    "EmbeddedServer",
    "LLMBadReply",
    "LLMClient",
    "LLMError",
    "LLMTimeout",
    "LLMUnavailable",
    "client_from_settings",
    "embedded_model_path",
    "llm_endpoint",
]
