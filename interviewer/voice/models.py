"""The voice pipeline's models and turn-taking settings, loaded once per process.

`load_voice_models` (blocking; prewarm) loads Silero VAD and wraps the loaded Whisper model and TTS
voice; `turn_handling` turns the `VoiceOptions` (the ``VOXBANK_VOICE_*`` settings) into
livekit-agents' turn handling.

Nothing here downloads anything, and nothing asks livekit-agents for a model it would fetch or
call out for: turn detection is ``"vad"`` (not the default ``inference.TurnDetector``, whose
audio end-of-turn model is a LiveKit Inference call in dev mode and a 244 MB local model
otherwise), barge-in is VAD-based (not the cloud "adaptive" classifier), and the VAD is the
Silero ONNX file shipped inside ``livekit-plugins-silero``.
"""

from __future__ import annotations

from dataclasses import dataclass

from livekit.agents import stt, tts, vad
from livekit.agents.voice.turn import TurnHandlingOptions
from livekit.plugins import silero  # registers itself as a plugin: must be imported on the main thread

from interviewer.language.safety_classifier import SafetyClassifier
from interviewer.language.sentences import shared_encoder
from interviewer.voice.options import VoiceOptions
from interviewer.voice.stt import LoadedWhisper, WhisperSTT


@dataclass(frozen=True)
class VoiceModels:
    """The loaded models one process shares between its sessions."""

    vad: vad.VAD
    stt: stt.STT
    tts: tts.TTS
    whisper: LoadedWhisper


def load_vad(options: VoiceOptions) -> vad.VAD:
    """Silero VAD: a pause of ``pause_s`` closes a stretch of speech; ``max_speech_s`` of speech
    without such a pause is still kept whole (livekit's default cuts at 60 s)."""
    return silero.VAD.load(min_silence_duration=options.pause_s,
                           max_buffered_speech=options.max_speech_s, sample_rate=16000)


def load_voice_models(options: VoiceOptions, *, whisper: LoadedWhisper, voice: tts.TTS) -> VoiceModels:
    """Load Silero, the safety classifier and the follow-up ranker's sentence encoder next to the loaded
    Whisper model and TTS voice (blocking; call once per process)."""
    SafetyClassifier.shipped().warm()
    shared_encoder().encode(["warming up"])  # the follow-ups read with MiniLM, the classifier with mpnet
    return VoiceModels(vad=load_vad(options), stt=WhisperSTT(whisper), tts=voice, whisper=whisper)


def turn_handling(options: VoiceOptions) -> TurnHandlingOptions:
    """When the participant's turn ends and what happens when they talk over the interviewer.

    * End of turn: ``end_of_turn_s`` of silence after the last word, adapting upwards to this
      participant's own pauses (livekit's ``dynamic`` endpointing), never above
      ``end_of_turn_max_s``: reflective answers have long pauses.
    * Barge-in: ``barge_in_s`` of speech over the interviewer makes it pause; when no words
      follow within ``resume_after_s`` (a cough, a "hm"), it resumes where it stopped.
    """
    floor = options.end_of_turn_s
    return TurnHandlingOptions(
        turn_detection="vad",
        endpointing={"mode": "dynamic", "min_delay": floor,
                     "max_delay": max(floor, options.end_of_turn_max_s)},
        interruption={"enabled": True, "mode": "vad", "min_duration": options.barge_in_s,
                      "resume_false_interruption": True,
                      "false_interruption_timeout": options.resume_after_s,
                      "discard_audio_if_uninterruptible": True},
        preemptive_generation={"enabled": False},
    )
