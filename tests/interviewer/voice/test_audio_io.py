"""The custom audio I/O: what the device pulls is what counts as played."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from interviewer.voice.audio_io import Metronome, PacedAudioOutput, PushAudioInput, pcm_frame

RATE = 24000


def tone(seconds: float, value: int = 1000) -> bytes:
    return np.full(round(seconds * RATE), value, dtype=np.int16).tobytes()


def events(output: PacedAudioOutput) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    output.on("playback_started", lambda ev: seen.append(("started", None)))
    output.on("playback_finished", lambda ev: seen.append(("finished", (round(ev.playback_position, 3),
                                                                         ev.interrupted))))
    return seen


def test_a_segment_starts_when_the_device_pulls_it_and_finishes_when_it_is_drained() -> None:
    async def run() -> tuple[list[tuple[str, object]], bytes, object]:
        output = PacedAudioOutput(label="test", sample_rate=RATE)
        seen = events(output)
        await output.capture_frame(pcm_frame(tone(0.05), RATE))
        output.flush()
        assert seen == []  # captured is not played
        first = output.pull(480)
        assert seen == [("started", None)]
        pulled = first + output.pull(480) + output.pull(480)
        return seen, pulled, await output.wait_for_playout()

    seen, pulled, finished = asyncio.run(run())
    assert seen == [("started", None), ("finished", (0.05, False))]
    assert pulled[:2400] == tone(0.05) and pulled[2400:] == bytes(480 * 2 * 3 - 2400)  # then silence
    assert finished.playback_position == pytest.approx(0.05)  # type: ignore[attr-defined]


def test_clearing_the_buffer_interrupts_where_the_device_had_got_to() -> None:
    async def run() -> tuple[list[tuple[str, object]], float]:
        output = PacedAudioOutput(label="test", sample_rate=RATE)
        seen = events(output)
        await output.capture_frame(pcm_frame(tone(1.0), RATE))
        output.pull(480 * 10)  # 0.2 s played
        output.clear_buffer()
        return seen, output.played_s

    seen, played = asyncio.run(run())
    assert seen == [("started", None), ("finished", (0.2, True))]
    assert played == pytest.approx(0.2)


def test_a_paused_output_plays_silence_and_resumes_where_it_stopped() -> None:
    async def run() -> list[bytes]:
        output = PacedAudioOutput(label="test", sample_rate=RATE)
        await output.capture_frame(pcm_frame(tone(0.04, 7), RATE))
        output.flush()
        pieces = [output.pull(480)]
        output.pause()
        pieces.append(output.pull(480))
        output.resume()
        pieces.append(output.pull(480))
        return pieces

    played, paused, resumed = asyncio.run(run())
    assert played == tone(0.02, 7) and paused == bytes(960) and resumed == tone(0.02, 7)


def test_the_input_hands_frames_over_in_order_and_ends_when_closed() -> None:
    async def run() -> list[int]:
        source = PushAudioInput(label="test")
        for value in (1, 2, 3):
            source.push(pcm_frame(np.full(160, value, np.int16).tobytes(), 16000))
        source.close()
        source.push(pcm_frame(np.full(160, 9, np.int16).tobytes(), 16000))  # after the end: dropped
        return [int(np.frombuffer(bytes(frame.data), np.int16)[0]) async for frame in source]

    assert asyncio.run(run()) == [1, 2, 3]


def test_the_metronome_reports_the_ticks_missed_after_a_stall() -> None:
    async def run() -> list[int]:
        metronome = Metronome(period=0.01)
        counts = [await metronome.wait()]
        await asyncio.sleep(0.055)  # a stalled loop
        counts.append(await metronome.wait())
        counts.append(await metronome.wait())
        return counts

    first, after_stall, next_one = asyncio.run(run())
    assert first == 1 and after_stall >= 5 and next_one == 1
