"""A loaded study protocol as the journey uses it: files by id, their hashes, codes and quotas."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from protocols import Experiment, Instrument, Study
from protocols.loader import ConsentDocument
from protocols.schema import AnyGame, Wave


@dataclass(frozen=True)
class StudyRuntime:
    """One protocol study, with the lookups the journey needs. Build it once per process."""

    protocol: Study

    @property
    def slug(self) -> str:
        """The study id, used in URLs (``/study/{slug}/start``) and as ``studies.slug``."""
        return self.protocol.id

    @property
    def title(self) -> str:
        """The study's title from study.yaml."""
        return self.protocol.spec.title

    @property
    def version(self) -> str:
        """study.yaml's version."""
        return self.protocol.version

    @cached_property
    def protocol_hash(self) -> str:
        """sha256 over every file of the study (study.yaml, guides, instruments, games, experiments, consent)."""
        lines = [f"{f.path.name} {f.effective_hash}" for f in self.protocol.files()]
        lines += [f"consent/{c.version} {c.content_hash}" for c in self.protocol.consent]
        return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()

    def wave(self, number: int) -> Wave:
        """The wave with this number; KeyError if the study has none."""
        for wave in self.protocol.spec.waves:
            if wave.number == number:
                return wave
        raise KeyError(number)

    def instrument(self, instrument_id: str) -> Instrument:
        """The instrument with this id."""
        return self.protocol.instrument(instrument_id)

    def instrument_hash(self, instrument_id: str) -> str:
        """The hash stored with every answer to this instrument (overlays included)."""
        return self.protocol.instruments[instrument_id].effective_hash

    @cached_property
    def games(self) -> dict[str, AnyGame]:
        """The games by id, in file order."""
        if self.protocol.games is None:
            return {}
        return {game.id: game for game in self.protocol.games.data.games}

    @property
    def games_hash(self) -> str:
        """The games file's hash, stored with every decision."""
        assert self.protocol.games is not None, "this study has no games file"
        return self.protocol.games.effective_hash

    @cached_property
    def experiments(self) -> dict[str, Experiment]:
        """The experiments by id, in file order."""
        if self.protocol.experiments is None:
            return {}
        return {experiment.id: experiment for experiment in self.protocol.experiments.data.experiments}

    @property
    def experiments_hash(self) -> str:
        """The experiments file's hash, stored with every outcome answer."""
        assert self.protocol.experiments is not None, "this study has no experiments file"
        return self.protocol.experiments.effective_hash

    @property
    def consent(self) -> ConsentDocument:
        """The consent version new participants sign."""
        return self.protocol.current_consent

    @property
    def completion_code(self) -> str | None:
        """Prolific's completion code, or None when the study has no prolific section."""
        prolific = self.protocol.spec.prolific
        return prolific.completion_code if prolific else None

    @property
    def screened_out_code(self) -> str | None:
        """Prolific's screened-out code, or None."""
        prolific = self.protocol.spec.prolific
        return prolific.screened_out_code if prolific else None
