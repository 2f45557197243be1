"""When a later wave's actions are due: computed from study.yaml each time they are needed, never frozen.

A later wave (the retest) opens ``offset_days`` after the participant completed wave 1 and stays open
``window_days``. Its invitation is due when it opens, reminder k (1..count) ``k * every_days`` after
that, and the window closes at ``opens + window_days``. All times are UTC.

``ScheduleSource`` re-reads study.yaml whenever the file changes, so an edited schedule applies to
every action not yet sent: the planner moves their due times, and the sender checks again when it
sends (REDCap's queued invitations keep their old timing; ours do not).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from protocols import load_file
from protocols.schema import StudySpec

INVITATION = "invitation"
REMINDER = "reminder"
WINDOW_CLOSE = "window_close"
APPROVAL = "approval"
BONUS = "bonus_payment"
RETEST_KINDS = (INVITATION, REMINDER, WINDOW_CLOSE)


@dataclass(frozen=True)
class Window:
    """When a wave is open to one participant: ``opens_at`` <= t < ``closes_at``."""

    wave: int
    opens_at: datetime
    closes_at: datetime

    def is_open(self, now: datetime) -> bool:
        """Whether the wave is open at ``now``."""
        return self.opens_at <= now < self.closes_at


@dataclass(frozen=True)
class WaveTimeline:
    """A later wave's timing, as study.yaml gives it."""

    number: int
    offset_days: int
    window_days: int
    reminder_count: int = 0
    reminder_every_days: int = 1

    def window(self, wave1_completed_at: datetime) -> Window:
        """The wave's window for a participant who completed wave 1 at ``wave1_completed_at``."""
        opens = wave1_completed_at + timedelta(days=self.offset_days)
        return Window(self.number, opens, opens + timedelta(days=self.window_days))

    def due(self, kind: str, wave1_completed_at: datetime, reminder: int | None = None) -> datetime | None:
        """When an action is due; None for a reminder study.yaml no longer asks for."""
        window = self.window(wave1_completed_at)
        if kind == INVITATION:
            return window.opens_at
        if kind == WINDOW_CLOSE:
            return window.closes_at
        if kind == REMINDER and reminder is not None and 1 <= reminder <= self.reminder_count:
            return window.opens_at + timedelta(days=reminder * self.reminder_every_days)
        return None

    def actions(self, wave1_completed_at: datetime) -> list[tuple[str, int | None, datetime]]:
        """Every action of the wave as (kind, reminder number or None, due), in time order."""
        out: list[tuple[str, int | None, datetime]] = []
        for kind, reminder in [(INVITATION, None), *((REMINDER, k) for k in range(1, self.reminder_count + 1)),
                               (WINDOW_CLOSE, None)]:
            due = self.due(kind, wave1_completed_at, reminder)
            assert due is not None
            out.append((kind, reminder, due))
        return sorted(out, key=lambda a: a[2])


def timelines(spec: StudySpec) -> dict[int, WaveTimeline]:
    """The later waves of a study (wave 2 onwards) by number."""
    out = {}
    for wave in spec.waves:
        if wave.number < 2 or wave.offset_days is None or wave.window_days is None:
            continue
        reminders = wave.reminders
        out[wave.number] = WaveTimeline(wave.number, wave.offset_days, wave.window_days,
                                        reminders.count if reminders else 0,
                                        reminders.every_days if reminders else 1)
    return out


def retest_key(participant_id: int, wave: int, kind: str, reminder: int | None = None) -> str:
    """The idempotency key of a retest action: one row per participant, wave, kind (and reminder)."""
    suffix = f"{kind}{reminder}" if kind == REMINDER else kind
    return f"retest:p{participant_id}:w{wave}:{suffix}"


_shared: dict[Path, ScheduleSource] = {}
_shared_lock = threading.Lock()


def approval_key(visit_id: int) -> str:
    """The idempotency key of a visit's approval on Prolific."""
    return f"approve:v{visit_id}"


def bonus_key(bonus_idempotency_key: str) -> str:
    """The idempotency key of a bonus's payment: the bonus's own key, prefixed."""
    return f"pay:{bonus_idempotency_key}"


class ScheduleSource:
    """The later waves' timing from a study.yaml, re-read whenever the file changes (cheap to call)."""

    def __init__(self, study_yaml: Path) -> None:
        self.path = Path(study_yaml)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._timelines: dict[int, WaveTimeline] = {}
        self._slug = ""

    @classmethod
    def for_study_dir(cls, study_dir: Path) -> ScheduleSource:
        """The process's source for a study folder (or a study.yaml path), shared so the file is parsed
        only when it changes."""
        path = Path(study_dir)
        path = (path / "study.yaml" if path.is_dir() else path).resolve()
        with _shared_lock:
            if path not in _shared:
                _shared[path] = cls(path)
            return _shared[path]

    def current(self) -> dict[int, WaveTimeline]:
        """The timing in study.yaml as it is now."""
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                spec = load_file(self.path, kind="study").data
                self._timelines, self._slug = timelines(spec), spec.id
                self._stamp = stamp
            return dict(self._timelines)

    @property
    def slug(self) -> str:
        """The study's id (``studies.slug``)."""
        self.current()
        return self._slug
