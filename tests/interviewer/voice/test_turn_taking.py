"""Turn-taking settings for reflective, long answers."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import vad

from interviewer.voice.models import VoiceModels, load_vad, turn_handling
from interviewer.voice.options import VoiceOptions
from voxbank.settings import load_settings
from voxbank.wiring import voice_options


def test_the_settings_become_vad_turns_adaptive_endpointing_and_a_resuming_barge_in() -> None:
    settings = load_settings(environment="test", voice_end_of_turn_s=2.0, voice_end_of_turn_max_s=1.0,
                             voice_barge_in_s=0.7, voice_resume_after_s=3.0)
    options = turn_handling(voice_options(settings))
    assert options["turn_detection"] == "vad"  # no end-of-turn model is fetched or called
    assert options["endpointing"] == {"mode": "dynamic", "min_delay": 2.0, "max_delay": 2.0}  # max never below min
    assert options["interruption"] == {"enabled": True, "mode": "vad", "min_duration": 0.7,
                                       "resume_false_interruption": True, "false_interruption_timeout": 3.0,
                                       "discard_audio_if_uninterruptible": True}
    assert options["preemptive_generation"] == {"enabled": False}


@pytest.mark.slow
def test_seventy_seconds_of_speech_without_a_pause_reaches_whisper_whole(voice_models: VoiceModels,
                                                                         speak_text) -> None:  # type: ignore[no-untyped-def]
    """livekit's default (max_buffered_speech=60 s) would drop the rest of such a monologue."""
    sentence = speak_text("I kept on working at the plant for many years because the family needed the money")
    gap = np.zeros(1600, np.int16)  # 0.1 s between repeats: far below the pause that closes a stretch
    speech = np.concatenate([np.concatenate([sentence, gap])] * int(np.ceil(70 / (len(sentence) / 16000 + 0.1))))
    audio = np.concatenate([speech, np.zeros(2 * 16000, np.int16)])
    settings = load_settings(environment="test")
    assert settings.voice_max_speech_s >= 600

    async def stretches() -> list[float]:
        stream = load_vad(VoiceOptions()).stream()
        for start in range(0, len(audio), 320):
            piece = audio[start:start + 320]
            stream.push_frame(rtc.AudioFrame(piece.tobytes(), 16000, 1, len(piece)))
        stream.end_input()
        found = []
        async for event in stream:
            if event.type == vad.VADEventType.END_OF_SPEECH:
                found.append(sum(frame.duration for frame in event.frames))
        await stream.aclose()
        return found

    (kept,) = asyncio.run(stretches())
    assert kept >= len(speech) / 16000 - 0.5
    assert kept >= 70.0
